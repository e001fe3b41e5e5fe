package github

// pushPayload is what the intake reads of a push delivery: the fields of
// GitHub's push webhook payload that go-github's PushEvent gives the
// intake (repository.full_name, ref, before, after, deleted, pusher.name,
// sender.login, head_commit's id, message, url and author.username),
// decoded the same way; a null or missing field is zero, a field of the
// wrong type is an error. Decoding the whole PushEvent, every field of
// the repository, the commits and the users, cost a delivery more than
// recording it durably did; fields the intake does not read are not
// checked. decode reads it as json.Unmarshal would.
type pushPayload struct {
	Ref        string `json:"ref"`
	Before     string `json:"before"`
	After      string `json:"after"`
	Deleted    bool   `json:"deleted"`
	Repository struct {
		FullName string `json:"full_name"`
	} `json:"repository"`
	Pusher struct {
		Name string `json:"name"`
	} `json:"pusher"`
	Sender struct {
		Login string `json:"login"`
	} `json:"sender"`
	HeadCommit *headCommit `json:"head_commit"`
}

// headCommit is what the intake reads of a push's head_commit.
type headCommit struct {
	ID      string `json:"id"`
	Message string `json:"message"`
	URL     string `json:"url"`
	Author  struct {
		Username string `json:"username"`
	} `json:"author"`
}

// decode reads a push delivery's JSON into p as json.Unmarshal(data, p)
// does: the same documents are accepted (invalid JSON anywhere, or a
// field of the wrong type, is an error), keys match fields case-
// insensitively, a later duplicate key wins and null leaves a field as
// it is (a null head_commit makes it nil). It is one validating pass
// that decodes only the fields above: encoding/json's two passes over
// the whole payload, commits and all, were a quarter of a delivery's CPU.
func (p *pushPayload) decode(data []byte) error {
	s := &jsonScan{data: data}
	s.skipSpace()
	if err := s.readObject("(the payload)", 0, p.member(s)); err != nil {
		return err
	}
	if err := s.end(); err != nil {
		return err
	}
	return s.typeErr
}

// member decodes one member of the payload's top-level object.
func (p *pushPayload) member(s *jsonScan) func(key []byte, depth int) error {
	return func(key []byte, depth int) error {
		switch {
		case jsonKeyIs(key, "ref"):
			return s.readString(&p.Ref, "ref", depth)
		case jsonKeyIs(key, "before"):
			return s.readString(&p.Before, "before", depth)
		case jsonKeyIs(key, "after"):
			return s.readString(&p.After, "after", depth)
		case jsonKeyIs(key, "deleted"):
			return s.readBool(&p.Deleted, "deleted", depth)
		case jsonKeyIs(key, "repository"):
			return s.readObject("repository", depth, func(key []byte, depth int) error {
				if jsonKeyIs(key, "full_name") {
					return s.readString(&p.Repository.FullName, "repository.full_name", depth)
				}
				return s.skipValue(depth)
			})
		case jsonKeyIs(key, "pusher"):
			return s.readObject("pusher", depth, func(key []byte, depth int) error {
				if jsonKeyIs(key, "name") {
					return s.readString(&p.Pusher.Name, "pusher.name", depth)
				}
				return s.skipValue(depth)
			})
		case jsonKeyIs(key, "sender"):
			return s.readObject("sender", depth, func(key []byte, depth int) error {
				if jsonKeyIs(key, "login") {
					return s.readString(&p.Sender.Login, "sender.login", depth)
				}
				return s.skipValue(depth)
			})
		case jsonKeyIs(key, "head_commit"):
			return p.readHeadCommit(s, depth)
		}
		return s.skipValue(depth)
	}
}

// readHeadCommit decodes head_commit as encoding/json decodes into a
// pointer: null makes it nil, an object fills the struct it points to
// (a new one if nil).
func (p *pushPayload) readHeadCommit(s *jsonScan, depth int) error {
	if s.kind() == jsonNull {
		p.HeadCommit = nil
		return s.literal("null")
	}
	if s.kind() != jsonObject {
		return s.wrongType("head_commit", "an object", depth)
	}
	if p.HeadCommit == nil {
		p.HeadCommit = &headCommit{}
	}
	hc := p.HeadCommit
	return s.object(depth+1, func(key []byte, depth int) error {
		switch {
		case jsonKeyIs(key, "id"):
			return s.readString(&hc.ID, "head_commit.id", depth)
		case jsonKeyIs(key, "message"):
			return s.readString(&hc.Message, "head_commit.message", depth)
		case jsonKeyIs(key, "url"):
			return s.readString(&hc.URL, "head_commit.url", depth)
		case jsonKeyIs(key, "author"):
			return s.readObject("head_commit.author", depth, func(key []byte, depth int) error {
				if jsonKeyIs(key, "username") {
					return s.readString(&hc.Author.Username, "head_commit.author.username", depth)
				}
				return s.skipValue(depth)
			})
		}
		return s.skipValue(depth)
	})
}
