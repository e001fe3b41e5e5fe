package config

import "strings"

// groups decodes group name -> members.
func (d *decoder) groups(o *object) map[string][]string {
	out := map[string][]string{}
	for _, name := range o.entries() {
		p := o.sub(name)
		members := o.strs(name)
		d.checkName(p, name, "group")
		seen := map[string]bool{}
		for i, m := range members {
			switch {
			case !validMember(m):
				d.addAt(item(p, i), "want a Slack user ID (U…, W…) or usergroup:S…, got %s", quote(m))
			case seen[m]:
				d.addAt(item(p, i), "duplicate member %s", quote(m))
			}
			seen[m] = true
		}
		if members == nil {
			members = []string{}
		}
		out[name] = members
	}
	o.done()
	return out
}

// identities decodes identities.github: GitHub login -> Slack user ID.
func (d *decoder) identities(o *object) Identities {
	gh := o.obj("github")
	id := Identities{GitHub: map[string]string{}}
	first := map[string]string{}
	for _, login := range gh.entries() {
		p := gh.sub(login)
		user := gh.str(login)
		lower := strings.ToLower(login)
		switch {
		case !loginPattern.MatchString(login):
			d.addAt(p, "%s is not a valid GitHub login", quote(login))
		case first[lower] != "":
			d.addAt(p, "duplicate login (also %s; logins are compared ignoring case)", first[lower])
		}
		first[lower] = p
		if !userIDPattern.MatchString(user) {
			d.addAt(p, "want a Slack user ID (U…, W…), got %s", quote(user))
		}
		id.GitHub[lower] = user
	}
	gh.done()
	o.done()
	return id
}
