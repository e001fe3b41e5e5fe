package countersign

import "fmt"

// MaxChanges is how many commits a request keeps of what a deploy
// changes: enough to read through, while a comparison can hold thousands.
const MaxChanges = 20

// Comparison statuses, as GitHub's compare names them: how the commit to
// deploy (head) stands to the one running (base).
const (
	CompareAhead     = "ahead"     // only new commits: an upgrade
	CompareBehind    = "behind"    // older than the running one: a downgrade
	CompareDiverged  = "diverged"  // new commits, and running ones dropped
	CompareIdentical = "identical" // the same commit
)

// Changes are the commits between what runs on a target and what a deploy
// would run, as the request's card shows them. Either Unknown says why
// they are not known, or Status is set.
type Changes struct {
	// From is the running commit: the target's last successful
	// deployment the bot recorded (under dry-run, the last dry-run one).
	From string `json:"from,omitempty"`
	To   string `json:"to"`
	// Status is one of the Compare… constants.
	Status string `json:"status,omitempty"`
	// Ahead counts commits of To not in From; Behind those of From not in To.
	Ahead  int `json:"ahead,omitempty"`
	Behind int `json:"behind,omitempty"`
	// Commits are at most MaxChanges, oldest first: those To adds, or for
	// a downgrade those it takes away.
	Commits []Commit `json:"commits,omitempty"`
	// URL is the whole comparison on GitHub.
	URL string `json:"url,omitempty"`
	// Unknown says, for people, why the changes are not known.
	Unknown string `json:"unknown,omitempty"`
}

// Commit is one commit of a comparison.
type Commit struct {
	SHA string `json:"sha"`
	// Title is the first line of the message, clipped as a push's title is.
	Title string `json:"title"`
	// Login is the author's GitHub login, Name the author's name when
	// GitHub knows no login; Author their chat user, if the login maps to one.
	Login  string `json:"login,omitempty"`
	Name   string `json:"name,omitempty"`
	Author Actor  `json:"author,omitempty"`
}

// Downgrade reports whether the deploy would run an older commit.
func (c *Changes) Downgrade() bool { return c != nil && c.Unknown == "" && c.Status == CompareBehind }

// Unlisted returns how many commits there are beyond those Commits lists.
func (c *Changes) Unlisted() int {
	total := c.Ahead
	if c.Status == CompareBehind {
		total = c.Behind
	}
	return max(total-len(c.Commits), 0)
}

// Summary says in a line, plain text, what the deploy changes.
func (c *Changes) Summary() string {
	from, to := ShortSHA(c.From), ShortSHA(c.To)
	switch {
	case c.Unknown != "":
		return "changes unknown: " + c.Unknown
	case c.Status == CompareIdentical:
		return fmt.Sprintf("no changes: %s already runs", to)
	case c.Status == CompareAhead:
		return fmt.Sprintf("%s since %s, which runs now", commits(c.Ahead, "new commit"), from)
	case c.Status == CompareBehind:
		return fmt.Sprintf("downgrade: %s is %s behind %s, which runs now; deploying it takes %s away",
			to, commits(c.Behind, "commit"), from, pronoun(c.Behind))
	case c.Status == CompareDiverged:
		return fmt.Sprintf("diverged from %s, which runs now: %s, and %s of the running one dropped",
			from, commits(c.Ahead, "new commit"), commits(c.Behind, "commit"))
	}
	return fmt.Sprintf("changes unknown: GitHub compared %s and %s as %q", from, to, c.Status)
}

func commits(n int, noun string) string {
	if n == 1 {
		return "1 " + noun
	}
	return fmt.Sprintf("%d %ss", n, noun)
}

func pronoun(n int) string {
	if n == 1 {
		return "it"
	}
	return "them"
}
