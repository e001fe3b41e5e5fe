package bot

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"sort"
	"strings"

	cs "github.com/countersign/countersign"
	"github.com/countersign/countersign/policies"
)

// Rules are the parts of the config that a reload changes together:
// services (with their executors and channels), zones, policies and
// identities. The bot holds the current Rules as one snapshot; each
// operation reads it, and an execution keeps the executor it started
// with. Credentials a reload can swap (webhook secret, read tokens, …)
// are put in force by Swap at the same moment. The rest of the config
// (listen address, database, Socket Mode, …) is read at start only: a reload
// that changes it says "restart needed for: …" (Restart).
type Rules struct {
	Services   []Service
	Zones      []Zone
	Gates      []Gate
	Policy     *policies.Engine
	Identities map[string]cs.Actor
	// Hash is the hex SHA-256 of the config file's bytes, Path the file.
	Hash, Path string
	// Text is the file's bytes: kept in the store (not the audit trail,
	// as it may hold inline secrets) so that a restart applies exactly
	// what was approved. Shown is the config with secrets redacted, as
	// config.loaded and config.proposed record it.
	Text  []byte
	Shown json.RawMessage
	// Restart names the settings of this file that differ from those the
	// bot runs with and take effect only at the next start.
	Restart []string
	// SecretsChanged names (never with values) the secrets whose value
	// differs from the config in force when these rules were loaded,
	// e.g. "github.webhook_secret": config.loaded records them.
	SecretsChanged []string
	// Swap, when set, puts this config's swappable credentials in force:
	// called once these rules become current (at once, on approval, or at
	// start when the store's config is in force), never before.
	Swap func()
}

// swapCredentials puts r's credentials in force.
func (r *Rules) swapCredentials() {
	if r.Swap != nil {
		r.Swap()
	}
}

// ConfigLoader reads a config for a reload: cmd/countersign implements it.
type ConfigLoader interface {
	// LoadConfig checks a config as `config check` does and builds its
	// Rules (executors included). text nil means the config file as it
	// is now; otherwise text is a file's bytes kept in the store.
	LoadConfig(ctx context.Context, text []byte) (Rules, error)
	// ParseConfig reads text's rules for CompareRules only: no files,
	// no secrets, no executors (so it works where LoadConfig fails).
	ParseConfig(text []byte) (Rules, error)
}

// rules returns the rules in force. Callers that read more than one
// field for one decision read them from one snapshot.
func (b *Bot) rules() *Rules { return b.live.Load() }

// Policies returns the policies in force and the hash of their config.
func (b *Bot) Policies() (policies.Set, string) {
	r := b.rules()
	return r.Policy.Set(), r.Hash
}

// Proposal is a pending request to make a looser config current.
type Proposal struct {
	Request cs.Request
	Changes []policies.Change
}

// PendingProposal returns the open policy request, if any, with the
// differences it was proposed with (from its config.proposed record).
func (b *Bot) PendingProposal(ctx context.Context) (Proposal, bool, error) {
	var p Proposal
	var ok bool
	err := b.store.View(ctx, func(tx ReadTx) error {
		open, err := tx.OpenRequests(cs.TargetPolicies)
		if err != nil {
			return err
		}
		for _, r := range open {
			if r.Action.Kind != cs.ActionPolicy {
				continue
			}
			p, ok = Proposal{Request: r}, true
			evs, err := tx.Events(EventQuery{Request: r.ID, Kind: cs.EventConfigProposed, Limit: 1})
			if err != nil || len(evs) == 0 {
				return err
			}
			var d struct {
				Changes []policies.Change `json:"changes"`
			}
			if err := json.Unmarshal(evs[0].Detail, &d); err != nil {
				return fmt.Errorf("config.proposed of %s: %w", r.ID, err)
			}
			p.Changes = d.Changes
		}
		return nil
	})
	return p, ok, err
}

// CompareRules lists what changes from old to new: policies.Compare of
// their policies, and the services', zones' and identities' changes that
// decide what the policies allow. A service or zone added, or one whose
// target moved (engine, host, Swarm service, unikernel, DNS server, key
// or record types), counts as looser: the policies that name it now let
// people change something else. So does a repository or branch whose
// pushes deploy a service, the image repository it deploys from, and an
// identity removed or changed (it keeps commit authors from approving
// their own pushes). A channel change is neutral; a service's build,
// verify and pull request settings are not compared: they change with
// the rest.
func CompareRules(old, new *Rules) policies.Diff {
	d := policies.Compare(old.Policy.Set(), new.Policy.Set())
	add := func(path string, dir policies.Direction, before, after, say string) {
		d.Changes = append(d.Changes, policies.Change{Path: path, Direction: dir, Before: before, After: after, Say: say})
	}
	oldSvc := byName(old.Services, func(s Service) string { return s.Name })
	for _, s := range new.Services {
		o, ok := oldSvc[s.Name]
		path := "services." + s.Name
		delete(oldSvc, s.Name)
		switch {
		case !ok:
			add(path, policies.Looser, "", s.Runs, fmt.Sprintf("service %s is added (%s): the policies whose targets match it now allow changing it", s.Name, s.Runs))
			continue
		case o.Runs != s.Runs:
			add(path, policies.Looser, o.Runs, s.Runs, fmt.Sprintf("service %s now changes %s instead of %s: looser for its policies", s.Name, s.Runs, o.Runs))
		}
		if from, to := intake(o), intake(s); from != to {
			add(path+".repo", policies.Looser, from, to, fmt.Sprintf("service %s is now deployed by pushes of %s instead of %s", s.Name, orNone(to), orNone(from)))
		}
		if o.Image != s.Image {
			add(path+".image", policies.Looser, o.Image, s.Image, fmt.Sprintf("service %s now deploys images of %s instead of %s", s.Name, orNone(s.Image), orNone(o.Image)))
		}
		if o.Channel != s.Channel {
			add(path+".channel", policies.Neutral, o.Channel, s.Channel, fmt.Sprintf("service %s's requests now go to %s", s.Name, s.Channel))
		}
	}
	for _, name := range sortedNames(oldSvc) {
		add("services."+name, policies.Stricter, oldSvc[name].Runs, "", fmt.Sprintf("service %s is removed", name))
	}
	compareGates(old.Gates, new.Gates, add)
	compareZones(old.Zones, new.Zones, add)
	compareIdentities(old.Identities, new.Identities, add)
	return d
}

// byName indexes items by their name.
func byName[T any](items []T, name func(T) string) map[string]T {
	m := make(map[string]T, len(items))
	for _, it := range items {
		m[name(it)] = it
	}
	return m
}

// compareZones adds to a rules comparison the zones added, moved or
// removed.
func compareZones(old, new []Zone, add func(path string, dir policies.Direction, before, after, say string)) {
	oldZones := byName(old, func(z Zone) string { return z.Name })
	for _, z := range new {
		o, ok := oldZones[z.Name]
		delete(oldZones, z.Name)
		path := "dns." + strings.TrimSuffix(z.Name, ".")
		switch {
		case !ok:
			add(path, policies.Looser, "", z.Runs, fmt.Sprintf("zone %s is added (%s)", z.Name, z.Runs))
		case o.Runs != z.Runs:
			add(path, policies.Looser, o.Runs, z.Runs, fmt.Sprintf("zone %s now changes %s instead of %s: looser for its policies", z.Name, z.Runs, o.Runs))
		}
	}
	for _, name := range sortedNames(oldZones) {
		add("dns."+strings.TrimSuffix(name, "."), policies.Stricter, oldZones[name].Runs, "", fmt.Sprintf("zone %s is removed", name))
	}
}

// compareIdentities adds to a rules comparison the GitHub logins whose
// person changed: a login no longer known could approve its own pushes.
func compareIdentities(old, new map[string]cs.Actor, add func(path string, dir policies.Direction, before, after, say string)) {
	logins := map[string]bool{}
	for l := range old {
		logins[l] = true
	}
	for l := range new {
		logins[l] = true
	}
	for _, l := range sortedNames(logins) {
		before, after := string(old[l]), string(new[l])
		switch {
		case before == after:
		case before == "":
			add("identities.github."+l, policies.Stricter, "", after, fmt.Sprintf("GitHub login %s is now known as %s: they cannot approve their own pushes", l, after))
		default:
			add("identities.github."+l, policies.Looser, before, after, fmt.Sprintf("GitHub login %s is no longer known as %s: %s could approve their own pushes", l, before, before))
		}
	}
}

func intake(s Service) string {
	if s.Repo == "" {
		return ""
	}
	return s.Repo + " " + s.Branch
}

func orNone(s string) string {
	if s == "" {
		return "none"
	}
	return s
}

func sortedNames[T any](m map[string]T) []string {
	names := make([]string, 0, len(m))
	for n := range m {
		names = append(names, n)
	}
	sort.Strings(names)
	return names
}

// diffText renders a diff in words, one change a line, looser first.
func diffText(d policies.Diff) string {
	var lines []string
	for _, dir := range []policies.Direction{policies.Looser, policies.Stricter, policies.Neutral} {
		for _, c := range d.Changes {
			if c.Direction != dir {
				continue
			}
			line := fmt.Sprintf("[%s] %s: %s", c.Direction, c.Path, c.Say)
			if c.Before != "" || c.After != "" {
				line += fmt.Sprintf(" (%s → %s)", orNone(c.Before), orNone(c.After))
			}
			lines = append(lines, line)
		}
	}
	if len(lines) == 0 {
		return "no difference in the rules"
	}
	return strings.Join(lines, "\n")
}

// ReloadOutcome says what a reload did.
type ReloadOutcome struct {
	// Applied: the new config is in force. Request: it waits for
	// approval as this request (refused if Request.State is refused).
	Applied bool
	Request cs.Request
	Diff    policies.Diff
	Restart []string
}

// errNoLoader: the bot was built without a way to read its config.
var errNoLoader = errors.New("this bot cannot reload its config (no config file)")

// ReloadFile reads the config file again (SIGHUP; `/cs config reload`)
// and applies it, or proposes it when it loosens the rules. by is the
// person who asked, or cs.ActorBot for a signal; caller, if set, is
// where the request is posted. A config that does not pass the checks
// is refused whole: the rules in force stay.
func (b *Bot) ReloadFile(ctx context.Context, by cs.Actor, caller *Caller) (ReloadOutcome, error) {
	if b.cfg.Loader == nil {
		return ReloadOutcome{}, errNoLoader
	}
	next, err := b.cfg.Loader.LoadConfig(ctx, nil)
	if err != nil {
		b.log.Warn("config reload refused: the running config stays", "by", by, "err", err)
		return ReloadOutcome{}, fmt.Errorf("config reload refused, the running config stays: %w", err)
	}
	return b.Reload(ctx, &next, by, caller)
}

// Reload applies next at once when it is stricter or equal, and audits
// config.loaded; otherwise it records next's file and asks for approval
// with a policy request, audited config.proposed.
func (b *Bot) Reload(ctx context.Context, next *Rules, by cs.Actor, caller *Caller) (ReloadOutcome, error) {
	b.reloadMu.Lock()
	defer b.reloadMu.Unlock()
	cur := b.rules()
	out := ReloadOutcome{Restart: next.Restart}
	if next.Hash == cur.Hash {
		return out, fmt.Errorf("config %s (sha256 %s) is already in force: nothing to reload", next.Path, cs.ShortHash(next.Hash))
	}
	out.Diff = CompareRules(cur, next)
	if !out.Diff.Looser() {
		if err := b.apply(ctx, next, by, "", out.Diff); err != nil {
			return out, err
		}
		out.Applied = true
		b.log.Info("config reloaded", "by", by, "hash", next.Hash, "previous_hash", cur.Hash, "restart_needed", next.Restart)
		return out, nil
	}
	if r, ok, err := b.openProposal(ctx, next.Hash, cur.Hash); err != nil || ok {
		out.Request = r // the same file again: its approvals so far stand
		return out, err
	}
	r, err := b.propose(ctx, cur, next, by, caller, out.Diff)
	out.Request = r
	return out, err
}

// openProposal returns the open policy request for config hash replacing
// from, if there is one.
func (b *Bot) openProposal(ctx context.Context, hash, from string) (cs.Request, bool, error) {
	var found cs.Request
	var ok bool
	err := b.store.View(ctx, func(tx ReadTx) error {
		rs, err := tx.OpenRequests(cs.TargetPolicies)
		for _, r := range rs {
			if r.Action.Kind == cs.ActionPolicy && r.Action.Config == hash && r.Action.From == from {
				found, ok = r, true
			}
		}
		return err
	})
	return found, ok, err
}

// apply makes next the rules in force, in the transaction that audits
// config.loaded, so that every other transaction sees the old rules or
// the new ones with their record.
func (b *Bot) apply(ctx context.Context, next *Rules, by cs.Actor, id cs.RequestID, d policies.Diff) error {
	prev := b.rules()
	var stale []cs.Request
	err := b.store.Update(ctx, func(tx Tx) error {
		var err error
		if stale, err = b.closeProposals(tx, id, next, by); err != nil {
			return err
		}
		if _, err := tx.PutConfig(next.Text); err != nil {
			return err
		}
		if err := tx.SetCurrentConfig(next.Hash); err != nil {
			return err
		}
		detail := loadedDetail(next, prev)
		detail["changes"] = d.Changes
		if id != "" {
			detail["request"] = id
		}
		if _, err := tx.Append(b.event(cs.EventConfigLoaded, by, nil, detail)); err != nil {
			return err
		}
		b.live.Store(next)
		return nil
	})
	if err != nil {
		b.live.Store(prev)
		return b.storeFailure(err)
	}
	next.swapCredentials()
	for _, r := range stale {
		b.reportAndShow(ctx, r)
		b.reply(ctx, r, cc(Textf("%s ", r.ID)+Markup(r.Outcome), r))
	}
	return nil
}

// closeProposals supersedes, in tx, the open policy requests other than
// id: each was for replacing the config that next replaces now.
func (b *Bot) closeProposals(tx Tx, id cs.RequestID, next *Rules, by cs.Actor) ([]cs.Request, error) {
	open, err := tx.OpenRequests(cs.TargetPolicies)
	if err != nil {
		return nil, err
	}
	var closed []cs.Request
	for _, r := range open {
		if r.ID == id || r.Action.Kind != cs.ActionPolicy || r.State == cs.StateExecuting {
			continue
		}
		r.State, r.Updated = cs.StateSuperseded, b.now()
		r.Outcome = string(Textf("superseded: config sha256 %s took effect in the meantime; reload again to propose this one", cs.ShortHash(next.Hash)))
		if err := tx.PutRequest(r); err != nil {
			return nil, err
		}
		if _, err := tx.Append(b.event(cs.EventRequestSuperseded, by, &r, map[string]any{
			"reason": "another config took effect", "hash": next.Hash, "fingerprint": r.Fingerprint,
		})); err != nil {
			return nil, err
		}
		closed = append(closed, r)
	}
	return closed, nil
}

// loadedDetail is config.loaded's detail for r replacing prev (nil at a
// first start).
func loadedDetail(r, prev *Rules) map[string]any {
	d := map[string]any{"hash": r.Hash, "path": r.Path, "policy_version": r.Policy.Version(), "config": r.Shown}
	if prev != nil {
		d["previous_hash"], d["previous_policy_version"] = prev.Hash, prev.Policy.Version()
	}
	if len(r.Restart) > 0 {
		d["restart_needed"] = r.Restart
	}
	if len(r.SecretsChanged) > 0 {
		d["secrets_changed"] = r.SecretsChanged
	}
	return d
}

// propose records next's file and submits the policy request for it.
func (b *Bot) propose(ctx context.Context, cur, next *Rules, by cs.Actor, caller *Caller, d policies.Diff) (cs.Request, error) {
	dr := draft{
		Action: cs.Action{Kind: cs.ActionPolicy, Target: cs.TargetPolicies, Config: next.Hash, From: cur.Hash},
		Source: cs.SourceChat, Requester: by, Caller: caller, plan: proposalPlan(next, d),
		proposed: func(tx Tx, r cs.Request) error {
			if _, err := tx.PutConfig(next.Text); err != nil {
				return err
			}
			_, err := tx.Append(b.event(cs.EventConfigProposed, by, &r, map[string]any{
				"hash": next.Hash, "path": next.Path, "previous_hash": cur.Hash, "changes": d.Changes,
				"config": next.Shown, "policy_version": next.Policy.Version(), "restart_needed": next.Restart,
			}))
			return err
		},
	}
	if by == cs.ActorBot {
		dr.Source = cs.SourceBot
	}
	if caller != nil {
		dr.Channel = caller.Channel
	} else {
		dr.Channel = b.policyChannel(cur)
	}
	r, err := b.submit(ctx, dr)
	if err != nil {
		return r, err
	}
	b.log.Info("config proposed: it loosens the rules and waits for approval", "request", r.ID, "state", r.State,
		"by", by, "hash", next.Hash, "previous_hash", cur.Hash)
	return r, nil
}

// policyChannel is where a proposal from a signal is posted: the audit
// channel, or else the first service's channel.
func (b *Bot) policyChannel(cur *Rules) string {
	if b.cfg.AuditChannel != "" {
		return b.cfg.AuditChannel
	}
	for _, s := range cur.Services {
		if s.Channel != "" {
			return s.Channel
		}
	}
	return ""
}

func proposalPlan(next *Rules, d policies.Diff) string {
	return fmt.Sprintf("make config %s (sha256 %s) current; it loosens the rules:\n%s", next.Path, cs.ShortHash(next.Hash), diffText(d))
}

// runPolicy carries out an approved policy request: the config file kept
// under the approved hash, built again, replaces the one in force, if
// that is still the one the proposal was made against.
func (b *Bot) runPolicy(ctx context.Context, r cs.Request) (Result, error) {
	b.reloadMu.Lock()
	defer b.reloadMu.Unlock()
	if b.cfg.Loader == nil {
		return Result{}, errNoLoader
	}
	cur := b.rules()
	if cur.Hash != r.Action.From {
		return Result{}, fmt.Errorf("the config in force changed since %s was proposed (sha256 %s then, %s now): nothing was applied; reload again",
			r.ID, cs.ShortHash(r.Action.From), cs.ShortHash(cur.Hash))
	}
	var text []byte
	err := b.store.View(ctx, func(tx ReadTx) error {
		var ok bool
		var err error
		text, ok, err = tx.Config(r.Action.Config)
		if err == nil && !ok {
			err = fmt.Errorf("the proposed config (sha256 %s) is not in the database", cs.ShortHash(r.Action.Config))
		}
		return err
	})
	if err != nil {
		return Result{}, err
	}
	next, err := b.cfg.Loader.LoadConfig(ctx, text)
	if err != nil {
		return Result{}, fmt.Errorf("the approved config no longer loads, nothing was applied: %w", err)
	}
	if next.Hash != r.Action.Config {
		return Result{}, fmt.Errorf("the approved config hashes to %s, not %s: nothing was applied", cs.ShortHash(next.Hash), cs.ShortHash(r.Action.Config))
	}
	if err := b.apply(ctx, &next, r.Requester, r.ID, CompareRules(cur, &next)); err != nil {
		return Result{}, err
	}
	b.log.Info("config approved and loaded", "request", r.ID, "hash", next.Hash, "previous_hash", cur.Hash, "restart_needed", next.Restart)
	sum := fmt.Sprintf("config sha256 %s is now in force (was %s)", cs.ShortHash(next.Hash), cs.ShortHash(cur.Hash))
	if len(next.Restart) > 0 {
		sum += "; restart needed for: " + strings.Join(next.Restart, ", ")
	}
	return Result{Summary: sum}, nil
}

// startRules is what Start runs with: rules, which replaced prev (nil:
// the same config, or none recorded) with changes; waits is the config
// file, when it loosens the rules last in force and so waits for
// approval while they stay.
type startRules struct {
	rules, prev, waits *Rules
	changes            []policies.Change
}

// startingRules decides the config Start runs with. The file on disk is
// taken when no config was recorded yet, when it is the one in force, or
// when it is stricter or equal to it. A file that loosens the rules in
// force (edited while the bot was down, or proposed and not yet
// approved) must not bypass approval: the bot starts with the config in
// force, kept in the store, and proposes the file.
func (b *Bot) startingRules(ctx context.Context) (startRules, error) {
	file := b.rules()
	if b.cfg.Loader == nil || file.Text == nil {
		return startRules{rules: file}, nil
	}
	var curHash string
	var text []byte
	var kept bool
	err := b.store.View(ctx, func(tx ReadTx) error {
		var err error
		if curHash, err = tx.CurrentConfig(); err != nil || curHash == "" || curHash == file.Hash {
			return err
		}
		text, kept, err = tx.Config(curHash)
		return err
	})
	if err != nil {
		return startRules{}, err
	}
	if !kept {
		if curHash != "" && curHash != file.Hash {
			b.log.Warn("the config last in force is not in the database; starting with the file", "hash", curHash)
		}
		return startRules{rules: file}, nil
	}
	cur, err := b.cfg.Loader.LoadConfig(ctx, text)
	if err != nil {
		// It cannot run (a file it names is gone, an engine is down):
		// the file may still replace it if it is no looser.
		shown, perr := b.cfg.Loader.ParseConfig(text)
		if perr == nil {
			if d := CompareRules(&shown, file); !d.Looser() {
				b.log.Warn("the config in force cannot be built again; starting with the file, which is no looser", "hash", curHash, "err", err)
				return startRules{rules: file, prev: &shown, changes: d.Changes}, nil
			}
		}
		return startRules{}, fmt.Errorf("the config in force (sha256 %s) cannot be built again, and the file %s (sha256 %s) loosens it, so it must be approved first "+
			"(start with a file no looser than the one in force, then reload this one): %w", cs.ShortHash(curHash), file.Path, cs.ShortHash(file.Hash), err)
	}
	d := CompareRules(&cur, file)
	if !d.Looser() {
		return startRules{rules: file, prev: &cur, changes: d.Changes}, nil
	}
	b.log.Warn("the config file loosens the rules in force: starting with the rules in force; the file waits for approval",
		"file_hash", file.Hash, "hash", cur.Hash)
	cur.Restart = nil
	return startRules{rules: &cur, waits: file, changes: d.Changes}, nil
}

// recordStart audits config.loaded for st in tx and records the config in
// force.
func (b *Bot) recordStart(tx Tx, st startRules) error {
	r := st.rules
	detail := loadedDetail(r, st.prev)
	detail["dry_run"] = b.cfg.DryRun
	if st.prev != nil {
		detail["changes"] = st.changes
	}
	if st.waits != nil {
		detail["file_hash"], detail["file_waits"] = st.waits.Hash, "the file loosens the rules in force: it waits for approval"
	}
	if r.Text != nil {
		if _, err := tx.PutConfig(r.Text); err != nil {
			return err
		}
		if err := tx.SetCurrentConfig(r.Hash); err != nil {
			return err
		}
	}
	_, err := tx.Append(b.event(cs.EventConfigLoaded, cs.ActorBot, nil, detail))
	return err
}

// proposeAtStart proposes the file that waits, unless a request for
// exactly it (against the config in force) is still open: a restart
// keeps a proposal as it was (Reload).
func (b *Bot) proposeAtStart(ctx context.Context, st startRules) {
	out, err := b.Reload(ctx, st.waits, cs.ActorBot, nil)
	if err != nil {
		b.log.Error("propose the config file", "err", err)
		return
	}
	b.log.Info("the config file waits for approval", "request", out.Request.ID, "state", out.Request.State, "hash", st.waits.Hash)
}

// policyShow answers `policy show`.
func (b *Bot) policyShow() Markup {
	r := b.rules()
	out := Textf("Policies in force (config sha256 %s):", cs.ShortHash(r.Hash))
	for _, l := range r.Policy.Set().Lines() {
		out += "\n• " + Esc(l)
	}
	return out
}

// configReload answers `config reload`: whoever may request action policy
// may ask; the outcome is said to them (a proposal is posted as a card).
func (b *Bot) configReload(ctx context.Context, c Caller) (Markup, error) {
	groups, _ := b.usergroups(ctx)
	d := b.rules().Policy.Decide(policies.Input{Action: cs.Action{Kind: cs.ActionPolicy, Target: cs.TargetPolicies},
		Source: cs.SourceChat, Requester: c.User, Usergroups: groups, Now: b.now()})
	if d.Verdict == cs.VerdictDeny {
		return "", fmt.Errorf("you may not reload the config (action policy): %s", strings.Join(d.Reasons, "; "))
	}
	out, err := b.ReloadFile(ctx, c.User, &c)
	if err != nil {
		return "", err
	}
	return ReloadReply(out), nil
}

// ReloadReply says what a reload did, for the person who asked and the log.
func ReloadReply(out ReloadOutcome) Markup {
	var m Markup
	switch {
	case out.Applied:
		m = Textf("The new config is in force: its rules are stricter or equal.\n%s", diffText(out.Diff))
	case out.Request.State == cs.StateRefused:
		m = Textf("The new config loosens the rules and was refused (%s); the running config stays: ", out.Request.ID) + Markup(out.Request.Outcome)
	default:
		m = Textf("The new config loosens the rules: %s waits for approval; until then the rules in force decide.", out.Request.ID)
		if out.Request.Message.Channel != "" {
			m += Textf(" (posted in ") + channelMention(out.Request.Message.Channel) + ")"
		}
	}
	if len(out.Restart) > 0 {
		m += Textf("\nNot applied, restart needed for: %s", strings.Join(out.Restart, ", "))
	}
	return m
}

// RulesView is what the web page shows of the rules: the policies in
// force, and the proposal that waits for approval, if any.
type RulesView struct {
	Hash, Path string
	Lines      []string
	Pending    *ProposalView
}

// ProposalView is a waiting policy request with its differences.
type ProposalView struct {
	RequestView
	Changes []policies.Change
}

// RulesView reads the rules in force and the pending proposal.
func (b *Bot) RulesView(ctx context.Context) (RulesView, error) {
	r := b.rules()
	v := RulesView{Hash: r.Hash, Path: r.Path, Lines: r.Policy.Set().Lines()}
	p, ok, err := b.PendingProposal(ctx)
	if err != nil || !ok {
		return v, err
	}
	v.Pending = &ProposalView{RequestView: b.requestView(p.Request), Changes: p.Changes}
	return v, nil
}
