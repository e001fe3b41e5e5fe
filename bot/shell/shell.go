// Package shell is the terminal chat: it reads chat lines and pushes from
// a reader, hands them to the bot, and prints everything the bot would
// post to Slack. `countersign shell` and `countersign demo` use it.
package shell

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"regexp"
	"strings"
	"sync"

	cs "github.com/countersign/countersign"
	"github.com/countersign/countersign/bot"
)

// Chat prints messages to a writer. Safe for concurrent use.
type Chat struct {
	mu  sync.Mutex
	out io.Writer
	n   int
	// parents maps a message ts to its thread parent, for indenting edits.
	parents map[string]string
	// texts is the last text printed per ts, so that an edit that only
	// adds lines (a progress reply) prints just those.
	texts map[string]string
}

var _ bot.Chat = (*Chat)(nil)

// NewChat returns a chat that prints to out.
func NewChat(out io.Writer) *Chat {
	return &Chat{out: out, parents: map[string]string{}, texts: map[string]string{}}
}

// Plain turns chat markup into terminal text (see bot.PlainText).
func Plain(m bot.Markup) string { return bot.PlainText(m) }

func (c *Chat) print(prefix, indent string, m bot.Message) {
	text := Plain(m.Text)
	lines := strings.Split(text, "\n")
	fmt.Fprintf(c.out, "%s%s\n", prefix, lines[0])
	for _, l := range lines[1:] {
		fmt.Fprintf(c.out, "%s%s\n", indent, l)
	}
	if r := m.Request; r != nil && r.Buttons {
		fmt.Fprintf(c.out, "%s[Approve %s] [Deny %s]  (type: approve %s | deny %s REASON)\n", indent, r.ID, r.ID, r.ID, r.ID)
	}
}

// Post prints a new message; thread replies are indented under their parent.
func (c *Chat) Post(_ context.Context, m bot.Message) (cs.MessageRef, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.n++
	ts := fmt.Sprintf("m%d", c.n)
	c.texts[ts] = Plain(m.Text)
	if m.Thread.TS != "" {
		c.parents[ts] = m.Thread.TS
		c.print(fmt.Sprintf("    ↳ [%s] ", m.Thread.TS), "      ", m)
	} else {
		c.print(fmt.Sprintf("[#%s %s] ", m.Channel, ts), "    ", m)
	}
	return cs.MessageRef{Channel: m.Channel, TS: ts}, nil
}

// Update prints the new text of an edited message.
func (c *Chat) Update(_ context.Context, ref cs.MessageRef, m bot.Message) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	old, text := c.texts[ref.TS], Plain(m.Text)
	c.texts[ref.TS] = text
	if parent, ok := c.parents[ref.TS]; ok {
		if added, ok := strings.CutPrefix(text, old+"\n"); ok && old != "" && m.Request == nil {
			c.print(fmt.Sprintf("    ↳ [%s, edited %s] … ", parent, ref.TS), "      ", bot.Message{Text: bot.Esc(added)})
			return nil
		}
		c.print(fmt.Sprintf("    ↳ [%s, edited %s] ", parent, ref.TS), "      ", m)
	} else {
		c.print(fmt.Sprintf("[#%s %s edited] ", ref.Channel, ref.TS), "    ", m)
	}
	return nil
}

// Ephemeral prints a message only one user would see.
func (c *Chat) Ephemeral(_ context.Context, to bot.Caller, m bot.Message) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.print(fmt.Sprintf("(only @%s sees) ", to.User), "    ", m)
	return nil
}

// Handler is what the shell drives: the bot.
type Handler interface {
	HandleCommand(ctx context.Context, c bot.Caller, text string)
	HandlePush(ctx context.Context, p bot.Push) (bot.PushResult, error)
	Idle(ctx context.Context) error
}

// Shell reads lines and drives the bot, one line at a time to quiescence.
type Shell struct {
	Bot  Handler
	Chat *Chat
	// Channel is where typed commands are said to come from.
	Channel string
	// Echo prints each input line before handling it (for scripts).
	Echo bool
	// Prompt is printed before each line is read (for terminals).
	Prompt string
}

var userLine = regexp.MustCompile(`^@([A-Za-z0-9]+)\s+(.*)$`)

// Run handles lines until EOF or ctx ends. A malformed line is reported
// and skipped. Each line is handled to quiescence before the next is read.
func (s *Shell) Run(ctx context.Context, in io.Reader) error {
	r := bufio.NewReaderSize(in, 64*1024)
	channel := s.Channel
	if channel == "" {
		channel = "shell"
	}
	for n := 1; ; n++ {
		if s.Prompt != "" {
			s.Chat.say(s.Prompt)
		}
		raw, tooLong, err := readLine(r, MaxLine)
		if err == io.EOF && raw == "" && !tooLong {
			break
		}
		if err != nil && err != io.EOF {
			return fmt.Errorf("read input: %w", err)
		}
		if tooLong {
			s.Chat.say(fmt.Sprintf("shell: line %d: longer than %d bytes; skipped\n", n, MaxLine))
			continue
		}
		line := strings.TrimSpace(raw)
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		if s.Echo {
			s.Chat.say("> " + line + "\n")
		}
		if err := s.handle(ctx, channel, line); err != nil {
			s.Chat.say(fmt.Sprintf("shell: line %d: %v\n", n, err))
		}
		if err := s.Bot.Idle(ctx); err != nil {
			return err
		}
	}
	return s.Bot.Idle(ctx)
}

// MaxLine bounds a shell line; longer ones are reported and skipped.
const MaxLine = 64 * 1024

// readLine reads one line (without its newline). A line longer than max
// is read to its end and dropped: tooLong is set and the text is empty.
func readLine(r *bufio.Reader, max int) (line string, tooLong bool, err error) {
	var b []byte
	for {
		chunk, isPrefix, err := r.ReadLine()
		if len(b)+len(chunk) > max {
			tooLong = true
		} else {
			b = append(b, chunk...)
		}
		if err != nil {
			if tooLong {
				return "", true, nil
			}
			return string(b), false, err
		}
		if !isPrefix {
			if tooLong {
				return "", true, nil
			}
			return string(b), false, nil
		}
	}
}

func (c *Chat) say(s string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	fmt.Fprint(c.out, s)
}

const lineSyntax = "want `@USER TEXT` or `push REPO BRANCH SHA [GITHUB_LOGIN]`"

var shaPattern = regexp.MustCompile(`^[0-9a-fA-F]{7,40}$`)

func (s *Shell) handle(ctx context.Context, channel, line string) error {
	if m := userLine.FindStringSubmatch(line); m != nil {
		s.Bot.HandleCommand(ctx, bot.Caller{User: cs.Actor(m[1]), Channel: channel}, m[2])
		return nil
	}
	f := strings.Fields(line)
	if len(f) == 0 || f[0] != "push" {
		return fmt.Errorf("cannot read %q: %s", line, lineSyntax)
	}
	if len(f) < 4 || len(f) > 5 {
		return fmt.Errorf("push takes REPO BRANCH SHA [GITHUB_LOGIN], got %d words", len(f)-1)
	}
	if !shaPattern.MatchString(f[3]) {
		return fmt.Errorf("push: %q is not a commit SHA (7 to 40 hex digits)", f[3])
	}
	p := bot.Push{Repo: f[1], Branch: f[2], SHA: f[3], Pusher: "shell", Author: "shell", Title: "(push from the shell)"}
	if len(f) == 5 {
		// The shell's push has one login: the pusher, and the commit's author.
		p.Pusher, p.Author = f[4], f[4]
	}
	res, err := s.Bot.HandlePush(ctx, p)
	if err != nil {
		return err
	}
	if len(res.Services) == 0 {
		s.Chat.say(fmt.Sprintf("(no service follows %s %s; push ignored)\n", p.Repo, p.Branch))
	}
	return nil
}
