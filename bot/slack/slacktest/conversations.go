package slacktest

import (
	"maps"
	"net/url"
	"slices"
	"strconv"
	"strings"
)

// maxListLimit is the most channels conversations.list gives a page.
const maxListLimit = 1000

// withConversationsList adds conversations.list to api.
func (s *Server) withConversationsList(api map[string]method) map[string]method {
	api["conversations.list"] = method{token: "bot", scope: listScope, serve: s.conversationsList}
	return api
}

// listScope is the scope conversations.list needs for the types asked:
// groups:read once private channels are asked for.
func listScope(form url.Values) string {
	if slices.Contains(listTypes(form), "private_channel") {
		return "groups:read"
	}
	return "channels:read"
}

// listTypes are the types asked for; Slack's default is public_channel.
func listTypes(form url.Values) []string {
	t := form.Get("types")
	if t == "" {
		return []string{"public_channel"}
	}
	return strings.Split(t, ",")
}

// conversationsList answers conversations.list from Options.ChannelNames,
// in ID order, a page of limit (default 100, at most 1000) at a time with
// next_cursor, as Slack does. Private channels (G…) are listed only where
// the bot is a member, as Slack lists them for a bot.
func (s *Server) conversationsList(form url.Values) (reply, string) {
	types := listTypes(form)
	limit := 100
	if l := form.Get("limit"); l != "" {
		n, err := strconv.Atoi(l)
		if err != nil || n < 1 {
			return nil, "invalid_limit"
		}
		limit = min(n, maxListLimit)
	}
	var ids []string
	for _, id := range slices.Sorted(maps.Keys(s.opts.ChannelNames)) {
		private := strings.HasPrefix(id, "G")
		member := s.opts.Members == nil || s.opts.Members[id]
		if private && (!slices.Contains(types, "private_channel") || !member) || !private && !slices.Contains(types, "public_channel") {
			continue
		}
		ids = append(ids, id)
	}
	start := 0
	if cur := form.Get("cursor"); cur != "" {
		i := slices.Index(ids, strings.TrimPrefix(cur, "next:"))
		if !strings.HasPrefix(cur, "next:") || i < 0 {
			return nil, "invalid_cursor"
		}
		start = i
	}
	end := min(start+limit, len(ids))
	channels := []map[string]any{}
	for _, id := range ids[start:end] {
		channels = append(channels, map[string]any{
			"id": id, "name": s.opts.ChannelNames[id], "is_channel": !strings.HasPrefix(id, "G"),
			"is_private": strings.HasPrefix(id, "G"), "is_member": s.opts.Members == nil || s.opts.Members[id],
		})
	}
	next := ""
	if end < len(ids) {
		next = "next:" + ids[end]
	}
	return reply{"channels": channels, "response_metadata": map[string]any{"next_cursor": next}}, ""
}
