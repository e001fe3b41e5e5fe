package shell

import (
	"context"
	"strings"
	"sync"
	"testing"

	cs "github.com/countersign/countersign"
	"github.com/countersign/countersign/bot"
)

// fakeBot records what the shell hands it.
type fakeBot struct {
	mu       sync.Mutex
	commands []string
	pushes   []bot.Push
	idles    int
}

func (f *fakeBot) HandleCommand(_ context.Context, c bot.Caller, text string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.commands = append(f.commands, string(c.User)+"|"+c.Channel+"|"+text)
}

func (f *fakeBot) HandlePush(_ context.Context, p bot.Push) (bot.PushResult, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.pushes = append(f.pushes, p)
	if p.Repo == "nobody/follows" {
		return bot.PushResult{}, nil
	}
	return bot.PushResult{Services: []string{"svc"}}, nil
}

func (f *fakeBot) Idle(context.Context) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.idles++
	return nil
}

func TestShell_Lines(t *testing.T) {
	in := `# a comment

@U1 deploy www
@U2   approve R3
push mirage/mirage-www master ABCDEF1234567 hannesm
push org/x main 1234567
push nobody/follows main 1234567
push too few
push a b nothex
hello there
@U1
`
	var out strings.Builder
	fb := &fakeBot{}
	sh := &Shell{Bot: fb, Chat: NewChat(&out), Channel: "CSHELL", Echo: true}
	if err := sh.Run(context.Background(), strings.NewReader(in)); err != nil {
		t.Fatal(err)
	}
	if got, want := strings.Join(fb.commands, "\n"), "U1|CSHELL|deploy www\nU2|CSHELL|approve R3"; got != want {
		t.Errorf("commands:\n%s\nwant:\n%s", got, want)
	}
	if len(fb.pushes) != 3 || fb.pushes[0].Pusher != "hannesm" || fb.pushes[0].Author != "hannesm" || fb.pushes[0].SHA != "ABCDEF1234567" || fb.pushes[1].Pusher != "shell" {
		t.Errorf("pushes = %+v", fb.pushes)
	}
	// One wait per handled line, plus the one at EOF.
	if fb.idles != 9+1 {
		t.Errorf("idle waits = %d, want 10", fb.idles)
	}
	for _, want := range []string{
		"> @U1 deploy www",
		"(no service follows nobody/follows main; push ignored)",
		"shell: line 8: push takes REPO BRANCH SHA [GITHUB_LOGIN], got 2 words",
		`shell: line 9: push: "nothex" is not a commit SHA`,
		`shell: line 10: cannot read "hello there": want`,
		`shell: line 11: cannot read "@U1"`,
	} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("output lacks %q:\n%s", want, out.String())
		}
	}
	if strings.Contains(out.String(), "a comment") {
		t.Error("comment lines are echoed")
	}
}

func TestChat_Rendering(t *testing.T) {
	var out strings.Builder
	c := NewChat(&out)
	ctx := context.Background()
	parent, _ := c.Post(ctx, bot.Message{Channel: "C1", Text: "R1 · deploy www\nRequested by <@U1|alice> in <#C9>: " + bot.Esc("<!channel> & <https://x|y>") + " " + bot.Link("https://example.org/c", "5f3c9a1"),
		Request: &bot.RequestCard{ID: "R1", Buttons: true}})
	reply, _ := c.Post(ctx, bot.Message{Channel: "C1", Thread: parent, Text: "step one\nstep two"})
	c.Update(ctx, reply, bot.Message{Text: "edited reply"})
	c.Update(ctx, parent, bot.Message{Text: "edited parent"})
	c.Ephemeral(ctx, bot.Caller{Channel: "C1", User: cs.Actor("U2")}, bot.Message{Text: "just for <@U2>"})
	want := `[#C1 m1] R1 · deploy www
    Requested by @U1 in #C9: <!channel> & <https://x|y> 5f3c9a1
    [Approve R1] [Deny R1]  (type: approve R1 | deny R1 REASON)
    ↳ [m1] step one
      step two
    ↳ [m1, edited m2] edited reply
[#C1 m1 edited] edited parent
(only @U2 sees) just for @U2
`
	if out.String() != want {
		t.Errorf("rendered:\n%s\nwant:\n%s", out.String(), want)
	}
}

// TestShell_LongLineSkipped: a line over MaxLine is reported and the
// script goes on.
func TestShell_LongLineSkipped(t *testing.T) {
	var out strings.Builder
	fb := &fakeBot{}
	sh := &Shell{Bot: fb, Chat: NewChat(&out)}
	in := "@U1 status\n@U1 lock www " + strings.Repeat("x", 70*1024) + "\n@U1 help\n"
	if err := sh.Run(context.Background(), strings.NewReader(in)); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(out.String(), "shell: line 2: longer than 65536 bytes; skipped") {
		t.Errorf("output: %q", out.String())
	}
	if len(fb.commands) != 2 || fb.commands[1] != "U1|shell|help" {
		t.Errorf("commands handled: %q", fb.commands)
	}
}
