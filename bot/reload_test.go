package bot_test

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	cs "github.com/countersign/countersign"
	"github.com/countersign/countersign/bot"
	"github.com/countersign/countersign/bot/bottest"
	"github.com/countersign/countersign/bot/store"
	"github.com/countersign/countersign/policies"
)

// fakeLoader stands in for cmd/countersign's config loader: a "file" is
// the name of one of its policy sets, and its rules are the harness's
// services under that set. A name it does not know fails to load, as a
// config that does not pass `config check`.
type fakeLoader struct {
	mu       sync.Mutex
	file     string
	sets     map[string]policies.Set
	services func() []bot.Service
	runs     map[string]string // service name → Runs, for target changes
	// unbuildable files parse, but fail to load (an engine is gone).
	unbuildable map[string]bool
	// swapped names, in order, the files whose Rules.Swap ran: whose
	// credentials were put in force.
	swapped []string
}

func (l *fakeLoader) swaps() []string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return slices.Clone(l.swapped)
}

func (l *fakeLoader) ParseConfig(text []byte) (bot.Rules, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	set, ok := l.sets[string(text)]
	if !ok {
		return bot.Rules{}, errors.New("does not parse (test)")
	}
	r, err := rulesFor(string(text), set, l.services(), l.runs)
	for i := range r.Services {
		r.Services[i].Executor = nil
	}
	return r, err
}

func (l *fakeLoader) setFile(name string) { l.mu.Lock(); l.file = name; l.mu.Unlock() }

func (l *fakeLoader) LoadConfig(_ context.Context, text []byte) (bot.Rules, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if text == nil {
		text = []byte(l.file)
	}
	set, ok := l.sets[string(text)]
	if !ok {
		return bot.Rules{}, errors.New("policies[0].approve[0].group: unknown group \"nobody\" (test)")
	}
	if l.unbuildable[string(text)] {
		return bot.Rules{}, errors.New("engine prod: connection refused (test)")
	}
	r, err := rulesFor(string(text), set, l.services(), l.runs)
	name := string(text)
	r.Swap = func() { l.mu.Lock(); l.swapped = append(l.swapped, name); l.mu.Unlock() }
	return r, err
}

func rulesFor(name string, set policies.Set, services []bot.Service, runs map[string]string) (bot.Rules, error) {
	engine, err := policies.New(set)
	if err != nil {
		return bot.Rules{}, err
	}
	sum := sha256.Sum256([]byte(name))
	svcs := append([]bot.Service{}, services...)
	for i := range svcs {
		svcs[i].Runs = runs[svcs[i].Name]
	}
	shown, _ := json.Marshal(map[string]any{"file": name, "token": cs.NewSecret("s3cret-value")})
	return bot.Rules{Services: svcs, Policy: engine, Identities: map[string]cs.Actor{"hannesm": "UOWN1", "talex5": "UOPS1"},
		Hash: hex.EncodeToString(sum[:]), Path: "test.yaml", Text: []byte(name), Shown: shown}, nil
}

// rulesPolicy lets ops propose config changes, approved by two of ops.
var rulesPolicy = policies.Policy{Name: "rules", Actions: []cs.ActionKind{cs.ActionPolicy}, Targets: []string{cs.TargetPolicies},
	Request: []string{"group:ops"}, Approve: []cs.Requirement{{Group: "ops", Count: 2}}, Expires: policies.Duration(time.Hour)}

// reloadSets: "base" is the tests' set with rulesPolicy; "strict" needs
// two of ops for production; "loose" lets devs approve production too
// (looser); "looser" needs no approval for production at all;
// "norules" is base without rulesPolicy.
func reloadSets() map[string]policies.Set {
	with := func(edit func(*policies.Set)) policies.Set {
		s := testPolicies(3)
		s.Policies = append(s.Policies, rulesPolicy)
		if edit != nil {
			edit(&s)
		}
		return s
	}
	return map[string]policies.Set{
		"base":   with(nil),
		"strict": with(func(s *policies.Set) { s.Policies[1].Approve = []cs.Requirement{{Group: "ops", Count: 2}} }),
		"loose":  with(func(s *policies.Set) { s.Groups["ops"] = append(s.Groups["ops"], "UDEV1") }),
		"looser": with(func(s *policies.Set) { s.Policies[1].Approve = nil }),
		"norules": func() policies.Set {
			s := with(nil)
			s.Policies = s.Policies[:len(s.Policies)-1]
			return s
		}(),
	}
}

// reloadHarness starts a bot whose config is the loader's file "base"
// (or start); the loader's file is then changed by the tests.
func reloadHarness(t *testing.T, start string, opts ...harnessOpt) (*harness, *fakeLoader) {
	t.Helper()
	return reloadHarnessWith(t, &fakeLoader{file: start, sets: reloadSets()}, opts...)
}

func reloadHarnessWith(t *testing.T, l *fakeLoader, opts ...harnessOpt) (*harness, *fakeLoader) {
	t.Helper()
	start := l.file
	opts = append(opts, func(hc *harnessConfig) {
		hc.set = l.sets[start]
		prev := hc.config
		hc.config = func(c *bot.Config) {
			if prev != nil {
				prev(c)
			}
			services := c.Services
			l.services = func() []bot.Service { return services }
			r, err := rulesFor(start, l.sets[start], services, nil)
			if err != nil {
				t.Fatal(err)
			}
			c.Policy, c.ConfigHash, c.ConfigPath, c.ConfigText, c.ConfigShown, c.Loader = r.Policy, r.Hash, r.Path, r.Text, r.Shown, l
		}
	})
	return newHarness(t, opts...), l
}

// policyHash is the hash the loader gives file name.
func policyHash(name string) string {
	sum := sha256.Sum256([]byte(name))
	return hex.EncodeToString(sum[:])
}

func (h *harness) inForce() string {
	_, hash := h.bot.Policies()
	return hash
}

func (h *harness) reload(by cs.Actor) (bot.ReloadOutcome, error) {
	h.t.Helper()
	out, err := h.bot.ReloadFile(h.ctx, by, nil)
	h.idle()
	return out, err
}

// configEvents returns the details of every record of kind.
func (h *harness) configEvents(kind cs.EventKind) []map[string]any {
	h.t.Helper()
	var evs []cs.Event
	if err := h.db.View(h.ctx, func(tx bot.ReadTx) error {
		var err error
		evs, err = tx.Events(bot.EventQuery{Kind: kind})
		return err
	}); err != nil {
		h.t.Fatal(err)
	}
	var out []map[string]any
	for _, e := range evs {
		var d map[string]any
		if err := json.Unmarshal(e.Detail, &d); err != nil {
			h.t.Fatal(err)
		}
		if strings.Contains(string(e.Detail), "s3cret-value") {
			h.t.Fatalf("%s record holds a secret: %s", kind, e.Detail)
		}
		out = append(out, d)
	}
	return out
}

// deployNeeds asks for a deploy of api and reports how many approvals of
// ops it needs.
func (h *harness) deployNeeds(id cs.RequestID) int {
	h.t.Helper()
	r := h.request(id)
	n := 0
	for _, q := range r.Decision.Requires {
		n += q.Count
	}
	return n
}

func TestReload_RefusedConfigKeepsTheRunningOne(t *testing.T) {
	h, l := reloadHarness(t, "base")
	l.setFile("broken")
	_, err := h.reload(cs.ActorBot)
	if err == nil || !strings.Contains(err.Error(), "refused, the running config stays") || !strings.Contains(err.Error(), "unknown group") {
		t.Fatalf("reload of a bad config: err = %v, want it refused with the problem", err)
	}
	if h.inForce() != policyHash("base") {
		t.Errorf("config in force = %s, want base", h.inForce())
	}
	reply := h.say("UOPS1", "config reload")
	if !strings.Contains(reply, "unknown group") {
		t.Errorf("config reload reply = %q, want the problem", reply)
	}
	if n := len(h.configEvents(cs.EventConfigLoaded)); n != 1 {
		t.Errorf("%d config.loaded records, want only the start's", n)
	}
}

func TestReload_StricterAppliesAtOnce(t *testing.T) {
	h, l := reloadHarness(t, "base")
	l.setFile("strict")
	reply := h.say("UOPS1", "config reload")
	if !strings.Contains(reply, "is in force") || !strings.Contains(reply, "stricter") {
		t.Fatalf("reply = %q", reply)
	}
	if h.inForce() != policyHash("strict") {
		t.Fatalf("config in force = %s, want strict", h.inForce())
	}
	loaded := h.configEvents(cs.EventConfigLoaded)
	last := loaded[len(loaded)-1]
	if last["hash"] != policyHash("strict") || last["previous_hash"] != policyHash("base") || last["config"] == nil {
		t.Errorf("config.loaded = %v, want both hashes and the config", last)
	}
	h.say("UDEV1", "deploy api "+shaA)
	if n := h.deployNeeds("R1"); n != 2 {
		t.Errorf("a deploy after the stricter reload needs %d approvals, want 2", n)
	}
}

func TestReload_LooserWaitsThenApproved(t *testing.T) {
	h, l := reloadHarness(t, "base")
	l.setFile("looser")
	out, err := h.reload(cs.ActorBot)
	if err != nil || out.Applied || out.Request.State != cs.StatePending {
		t.Fatalf("looser reload: %+v, %v; want a pending request", out, err)
	}
	id := out.Request.ID
	r := h.request(id)
	if r.Action.Kind != cs.ActionPolicy || r.Action.Target != cs.TargetPolicies || r.Requester != cs.ActorBot ||
		r.Action.Config != policyHash("looser") || r.Action.From != policyHash("base") {
		t.Fatalf("request = %+v", r.Action)
	}
	if !strings.Contains(r.Plan, "production") || !strings.Contains(r.Plan, "→") {
		t.Errorf("plan = %q, want the difference per rule", r.Plan)
	}
	proposed := h.configEvents(cs.EventConfigProposed)
	if len(proposed) != 1 || proposed[0]["hash"] != policyHash("looser") || proposed[0]["changes"] == nil || proposed[0]["config"] == nil {
		t.Fatalf("config.proposed = %v", proposed)
	}
	if p, ok, err := h.bot.PendingProposal(h.ctx); err != nil || !ok || p.Request.ID != id || len(p.Changes) == 0 {
		t.Errorf("PendingProposal = %+v %v %v", p, ok, err)
	}
	// Until approved, the old rules decide.
	h.say("UDEV1", "deploy api "+shaA)
	if got := h.request(h.lastID()).State; got != cs.StatePending {
		t.Fatalf("a deploy while the loosening waits is %s, want pending", got)
	}
	h.say("UOPS1", "approve "+string(id))
	if h.inForce() != policyHash("base") {
		t.Fatal("one approval of two applied the config")
	}
	h.say("UOPS2", "approve "+string(id))
	h.wantState(id, cs.StateSucceeded)
	if h.inForce() != policyHash("looser") {
		t.Fatalf("config in force after approval = %s, want looser", h.inForce())
	}
	loaded := h.configEvents(cs.EventConfigLoaded)
	last := loaded[len(loaded)-1]
	if last["hash"] != policyHash("looser") || last["previous_hash"] != policyHash("base") || last["request"] != string(id) {
		t.Errorf("config.loaded = %v", last)
	}
	h.say("UDEV1", "deploy api "+shaB)
	if got := h.request(h.lastID()).State; got == cs.StatePending {
		t.Errorf("a deploy after the loosening still waits for approval")
	}
}

func TestReload_LooserDenied(t *testing.T) {
	h, l := reloadHarness(t, "base")
	l.setFile("loose")
	out, err := h.reload(cs.ActorBot)
	if err != nil {
		t.Fatal(err)
	}
	h.say("UOPS1", "deny "+string(out.Request.ID)+" not today")
	h.wantState(out.Request.ID, cs.StateDenied)
	if h.inForce() != policyHash("base") {
		t.Errorf("denied loosening applied")
	}
}

func TestReload_LooserExpired(t *testing.T) {
	h, l := reloadHarness(t, "base")
	l.setFile("loose")
	out, err := h.reload(cs.ActorBot)
	if err != nil {
		t.Fatal(err)
	}
	h.clock.Advance(2 * time.Hour)
	h.say("UOPS1", "approve "+string(out.Request.ID))
	h.wantState(out.Request.ID, cs.StateExpired)
	if h.inForce() != policyHash("base") {
		t.Errorf("expired loosening applied")
	}
}

func TestReload_NewerProposalSupersedesOlder(t *testing.T) {
	h, l := reloadHarness(t, "base")
	l.setFile("loose")
	first, err := h.reload(cs.ActorBot)
	if err != nil {
		t.Fatal(err)
	}
	l.setFile("looser")
	second, err := h.reload(cs.ActorBot)
	if err != nil {
		t.Fatal(err)
	}
	h.wantState(first.Request.ID, cs.StateSuperseded)
	h.wantState(second.Request.ID, cs.StatePending)
}

func TestReload_SameProposalAgainKeepsItsApprovals(t *testing.T) {
	h, l := reloadHarness(t, "base")
	l.setFile("looser")
	first, err := h.reload(cs.ActorBot)
	if err != nil {
		t.Fatal(err)
	}
	h.say("UOPS1", "approve "+string(first.Request.ID))
	again, err := h.reload(cs.ActorBot)
	if err != nil || again.Request.ID != first.Request.ID {
		t.Fatalf("the same file again: %+v %v, want %s still", again.Request, err, first.Request.ID)
	}
	h.say("UOPS2", "approve "+string(first.Request.ID))
	h.wantState(first.Request.ID, cs.StateSucceeded)
	if n := len(h.configEvents(cs.EventConfigProposed)); n != 1 {
		t.Errorf("%d config.proposed records, want 1", n)
	}
}

func TestReload_StricterSupersedesAPendingProposal(t *testing.T) {
	h, l := reloadHarness(t, "base")
	l.setFile("looser")
	pending, err := h.reload(cs.ActorBot)
	if err != nil {
		t.Fatal(err)
	}
	l.setFile("strict")
	if out, err := h.reload(cs.ActorBot); err != nil || !out.Applied {
		t.Fatalf("stricter reload: %+v %v", out, err)
	}
	r := h.wantState(pending.Request.ID, cs.StateSuperseded)
	if !strings.Contains(r.Outcome, "took effect") {
		t.Errorf("outcome %q", r.Outcome)
	}
}

func TestReload_NoPolicyForActionPolicyRefusesLoosening(t *testing.T) {
	h, l := reloadHarness(t, "norules")
	l.sets["norules-loose"] = func() policies.Set {
		s := l.sets["norules"]
		s.Policies[1].Approve = nil
		return s
	}()
	l.setFile("norules-loose")
	out, err := h.reload(cs.ActorBot)
	if err != nil {
		t.Fatal(err)
	}
	if out.Request.State != cs.StateRefused || !strings.Contains(out.Request.Outcome, "deny by default") {
		t.Fatalf("loosening without a policy for action policy: %s %q, want refused by default", out.Request.State, out.Request.Outcome)
	}
	if h.inForce() != policyHash("norules") {
		t.Errorf("refused loosening applied")
	}
	// Nobody may ask in chat either.
	if reply := h.say("UOPS1", "config reload"); !strings.Contains(reply, "may not reload") {
		t.Errorf("config reload without a policy for it: %q", reply)
	}
}

func TestReload_RequesterMustBeAllowed(t *testing.T) {
	h, l := reloadHarness(t, "base")
	l.setFile("strict")
	if reply := h.say("UDEV1", "config reload"); !strings.Contains(reply, "may not reload") {
		t.Fatalf("a dev reloading: %q, want refused (rules lets ops only)", reply)
	}
	if h.inForce() != policyHash("base") {
		t.Errorf("refused reload applied")
	}
}

func TestReload_ServiceTargetChangeIsLooser(t *testing.T) {
	h, l := reloadHarness(t, "base")
	l.runs = map[string]string{"api": "swarm service api-other on engine other"}
	l.sets["base-moved"] = l.sets["base"]
	l.setFile("base-moved")
	out, err := h.reload(cs.ActorBot)
	if err != nil {
		t.Fatal(err)
	}
	if out.Applied || out.Request.State != cs.StatePending || !strings.Contains(out.Request.Plan, "api-other") {
		t.Fatalf("a service moved: %+v, want a pending proposal naming the new target", out)
	}
}

func TestReload_RestartWhileProposedKeepsItProposed(t *testing.T) {
	h, l := reloadHarness(t, "base")
	l.setFile("looser")
	out, err := h.reload(cs.ActorBot)
	if err != nil {
		t.Fatal(err)
	}
	id := out.Request.ID
	h.bot.Close()
	h.db.Close()

	// The file on disk is the unapproved loosening: the restart must not
	// bypass approval. It starts with base, and keeps R… as it was.
	h2, l2 := reloadHarness(t, "looser", withPath(h.path))
	if h2.inForce() != policyHash("base") {
		t.Fatalf("after a restart with the proposed file, the config in force is %s, want base", h2.inForce())
	}
	h2.wantState(id, cs.StatePending)
	if n := len(h2.configEvents(cs.EventConfigProposed)); n != 1 {
		t.Errorf("%d config.proposed records, want the one from before the restart", n)
	}
	loaded := h2.configEvents(cs.EventConfigLoaded)
	if last := loaded[len(loaded)-1]; last["hash"] != policyHash("base") || last["file_hash"] != policyHash("looser") {
		t.Errorf("config.loaded at restart = %v", last)
	}
	h2.say("UDEV1", "deploy api "+shaA)
	if got := h2.request(h2.lastID()).State; got != cs.StatePending {
		t.Errorf("a deploy after the restart is %s, want pending (the old rules)", got)
	}
	_ = l2
	h2.say("UOPS1", "approve "+string(id))
	h2.say("UOPS2", "approve "+string(id))
	h2.wantState(id, cs.StateSucceeded)
	if h2.inForce() != policyHash("looser") {
		t.Errorf("approval after the restart did not apply the config")
	}
}

func TestReload_StartWithLooserFileProposesIt(t *testing.T) {
	h, _ := reloadHarness(t, "base")
	h.bot.Close()
	h.db.Close()
	// Edited while the bot was down.
	h2, _ := reloadHarness(t, "loose", withPath(h.path))
	if h2.inForce() != policyHash("base") {
		t.Fatalf("config in force = %s, want base", h2.inForce())
	}
	p, ok, err := h2.bot.PendingProposal(h2.ctx)
	if err != nil || !ok || p.Request.Action.Config != policyHash("loose") || p.Request.Requester != cs.ActorBot {
		t.Fatalf("PendingProposal = %+v %v %v, want the file proposed by the bot", p, ok, err)
	}
}

func TestReload_StartWithStricterFileTakesIt(t *testing.T) {
	h, _ := reloadHarness(t, "base")
	h.bot.Close()
	h.db.Close()
	h2, _ := reloadHarness(t, "strict", withPath(h.path))
	if h2.inForce() != policyHash("strict") {
		t.Fatalf("config in force = %s, want strict", h2.inForce())
	}
	loaded := h2.configEvents(cs.EventConfigLoaded)
	if last := loaded[len(loaded)-1]; last["previous_hash"] != policyHash("base") {
		t.Errorf("config.loaded = %v, want previous_hash base", last)
	}
}

func TestPolicyShow(t *testing.T) {
	h, _ := reloadHarness(t, "base")
	reply := h.say("UDEV1", "policy show")
	for _, want := range []string{"1. www-on-push:", "4. rules: policy on policies", "group ops:", short(policyHash("base"))} {
		if !strings.Contains(reply, want) {
			t.Errorf("policy show lacks %q:\n%s", want, reply)
		}
	}
}

func short(h string) string { return h[:12] }

// lastID is the newest request's ID.
func (h *harness) lastID() cs.RequestID {
	h.t.Helper()
	var id cs.RequestID
	if err := h.db.View(h.ctx, func(tx bot.ReadTx) error {
		evs, err := tx.Events(bot.EventQuery{Kind: cs.EventRequestCreated})
		if len(evs) > 0 {
			id = evs[len(evs)-1].Request
		}
		return err
	}); err != nil {
		h.t.Fatal(err)
	}
	return id
}

// The config in force cannot be built again (an engine is gone): a file
// no looser than it replaces it; a looser one does not start.
func TestReload_StartWhenTheConfigInForceCannotBeBuilt(t *testing.T) {
	h, _ := reloadHarness(t, "base")
	h.bot.Close()
	h.db.Close()

	broken := map[string]bool{"base": true}
	cfg := func(file string) (*fakeLoader, error) {
		l := &fakeLoader{file: file, sets: reloadSets(), unbuildable: broken}
		engine, _ := policies.New(l.sets[file])
		st, err := store.Open(h.path, store.Options{NoSync: true})
		if err != nil {
			t.Fatal(err)
		}
		defer st.Close()
		r, _ := rulesFor(file, l.sets[file], nil, nil)
		l.services = func() []bot.Service { return nil }
		b := bot.New(bot.Config{Policy: engine, Identities: r.Identities, ConfigHash: r.Hash, ConfigPath: r.Path, ConfigText: r.Text, ConfigShown: r.Shown, Loader: l,
			Clock: h.clock}, st, &bottest.Chat{}, nil, nil)
		err = b.Start(h.ctx)
		b.Close()
		return l, err
	}
	if _, err := cfg("loose"); err == nil || !strings.Contains(err.Error(), "cannot be built again") || !strings.Contains(err.Error(), "connection refused") {
		t.Fatalf("start with a looser file while the config in force cannot be built: %v, want refused", err)
	}
	if _, err := cfg("strict"); err != nil {
		t.Fatalf("start with a stricter file while the config in force cannot be built: %v", err)
	}
}

// A config.loaded that cannot be written leaves the old rules in force;
// a config.proposed that cannot be written leaves no request.
func TestReload_FailedAuditStopsIt(t *testing.T) {
	fs := &failingStore{}
	h, l := reloadHarness(t, "base", func(c *harnessConfig) {
		c.wrap = func(s bot.Store) bot.Store { fs.Store = s; return fs }
	})
	fs.setFail(cs.EventConfigLoaded)
	l.setFile("strict")
	if _, err := h.reload(cs.ActorBot); err == nil {
		t.Fatal("a stricter reload whose config.loaded failed reported success")
	}
	if h.inForce() != policyHash("base") {
		t.Fatal("the stricter config is in force without its record")
	}
	fs.setFail(cs.EventConfigProposed)
	l.setFile("looser")
	if _, err := h.reload(cs.ActorBot); err == nil {
		t.Fatal("a looser reload whose config.proposed failed reported success")
	}
	if _, ok, _ := h.bot.PendingProposal(h.ctx); ok {
		t.Error("a proposal without its config.proposed record waits")
	}
	// Approved, but config.loaded fails: the execution fails, nothing applies.
	fs.setFail()
	out, err := h.reload(cs.ActorBot)
	if err != nil {
		t.Fatal(err)
	}
	fs.setFail(cs.EventConfigLoaded)
	h.say("UOPS1", "approve "+string(out.Request.ID))
	h.say("UOPS2", "approve "+string(out.Request.ID))
	h.wantState(out.Request.ID, cs.StateFailed)
	if h.inForce() != policyHash("base") {
		t.Error("the approved config is in force without its record")
	}
}

// TestReload_SwapsCredentialsWhenTheRulesChange: a config's credentials
// (Rules.Swap) are put in force at the moment its rules are: at once for
// a stricter one, only on approval for a looser one, never for a denied
// one or one that does not load; a restart with a waiting loosening puts
// the credentials of the config in force, not the file's.
func TestReload_SwapsCredentialsWhenTheRulesChange(t *testing.T) {
	h, l := reloadHarness(t, "base")
	l.setFile("strict")
	if out, err := h.reload(cs.ActorBot); err != nil || !out.Applied {
		t.Fatalf("stricter reload: %+v %v", out, err)
	}
	if got := l.swaps(); !slices.Equal(got, []string{"strict"}) {
		t.Fatalf("swaps after a stricter reload = %q, want [strict]", got)
	}
	l.setFile("nonsense")
	if _, err := h.reload(cs.ActorBot); err == nil {
		t.Fatal("a config that does not load was taken")
	}
	l.setFile("loose")
	out, err := h.reload(cs.ActorBot)
	if err != nil || out.Applied {
		t.Fatalf("looser reload: %+v %v", out, err)
	}
	h.say("UOPS1", "deny "+string(out.Request.ID)+" no")
	h.wantState(out.Request.ID, cs.StateDenied)
	l.setFile("looser")
	if out, err = h.reload(cs.ActorBot); err != nil || out.Applied {
		t.Fatalf("looser reload: %+v %v", out, err)
	}
	h.say("UOPS1", "approve "+string(out.Request.ID))
	if got := l.swaps(); !slices.Equal(got, []string{"strict"}) {
		t.Fatalf("swaps before the loosening is approved = %q, want [strict]", got)
	}
	h.say("UOPS2", "approve "+string(out.Request.ID))
	h.wantState(out.Request.ID, cs.StateSucceeded)
	if got := l.swaps(); !slices.Equal(got, []string{"strict", "looser"}) {
		t.Fatalf("swaps after approval = %q, want [strict looser]", got)
	}
}

func TestReload_RestartWithWaitingLooseningSwapsInTheConfigInForce(t *testing.T) {
	h, l := reloadHarness(t, "base")
	l.setFile("loose")
	if _, err := h.reload(cs.ActorBot); err != nil {
		t.Fatal(err)
	}
	h.bot.Close()
	h.db.Close()
	h2, l2 := reloadHarness(t, "loose", withPath(h.path))
	if h2.inForce() != policyHash("base") {
		t.Fatalf("config in force = %s, want base", h2.inForce())
	}
	if got := l2.swaps(); !slices.Equal(got, []string{"base"}) {
		t.Errorf("swaps at a restart with a waiting loosening = %q, want [base] (the config in force)", got)
	}
}
