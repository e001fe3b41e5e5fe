package config

import (
	"strings"

	"github.com/countersign/countersign/cmd/countersign/config/strictyaml"
)

// groups decodes group name -> members.
func (d *decoder) groups(o *object) map[string][]string {
	out := map[string][]string{}
	for _, name := range o.Entries() {
		p := o.Sub(name)
		members := o.Strs(name)
		d.checkName(p, name, "group")
		seen := map[string]bool{}
		for i, m := range members {
			switch {
			case !validMember(m):
				d.AddAt(strictyaml.Item(p, i), "want a Slack user ID (U…, W…) or usergroup:S…, got %s", strictyaml.Quote(m))
			case seen[m]:
				d.AddAt(strictyaml.Item(p, i), "duplicate member %s", strictyaml.Quote(m))
			}
			seen[m] = true
		}
		if members == nil {
			members = []string{}
		}
		out[name] = members
	}
	o.Done()
	return out
}

// identities decodes identities.github: GitHub login -> Slack user ID.
func (d *decoder) identities(o *object) Identities {
	gh := o.obj("github")
	id := Identities{GitHub: map[string]string{}}
	first := map[string]string{}
	for _, login := range gh.Entries() {
		p := gh.Sub(login)
		user := gh.Str(login)
		lower := strings.ToLower(login)
		switch {
		case !loginPattern.MatchString(login):
			d.AddAt(p, "%s is not a valid GitHub login", strictyaml.Quote(login))
		case first[lower] != "":
			d.AddAt(p, "duplicate login (also %s; logins are compared ignoring case)", first[lower])
		}
		first[lower] = p
		if !userIDPattern.MatchString(user) {
			d.AddAt(p, "want a Slack user ID (U…, W…), got %s", strictyaml.Quote(user))
		}
		id.GitHub[lower] = user
	}
	gh.Done()
	o.Done()
	return id
}
