package slacktest

import (
	"encoding/json"
	"net/url"
)

// Defaults the payload builders share with Options, so payloads built
// without arguments match a server built without options.
const (
	defaultTeamID     = "T0TEAM"
	defaultTeamDomain = "slacktest"
	defaultAppID      = "A0APP"
	defaultTriggerID  = "1700000000.1.slacktest"
	// verificationToken stands in for the deprecated token Slack still
	// puts in every payload; signed requests make it meaningless.
	verificationToken = "slacktest-verification-token"
)

func orDefault(v, def string) string {
	if v == "" {
		return def
	}
	return v
}

// The payload builders below panic if a json.RawMessage field holds
// invalid JSON, which is a bug in the test that built it.

// SlashCommandPayload is a slash command invocation. Empty TeamID,
// TeamDomain, APIAppID and TriggerID get the package defaults.
type SlashCommandPayload struct {
	Command     string // e.g. "/deploy"
	Text        string
	UserID      string
	UserName    string
	ChannelID   string
	ChannelName string
	TeamID      string
	TeamDomain  string
	TriggerID   string
	ResponseURL string
	APIAppID    string
}

// Form returns the command as Slack POSTs it to an HTTP-mode app: an
// application/x-www-form-urlencoded body with these fields.
func (p SlashCommandPayload) Form() url.Values {
	return url.Values{
		"token":                 {verificationToken},
		"team_id":               {orDefault(p.TeamID, defaultTeamID)},
		"team_domain":           {orDefault(p.TeamDomain, defaultTeamDomain)},
		"channel_id":            {p.ChannelID},
		"channel_name":          {p.ChannelName},
		"user_id":               {p.UserID},
		"user_name":             {p.UserName},
		"command":               {p.Command},
		"text":                  {p.Text},
		"api_app_id":            {orDefault(p.APIAppID, defaultAppID)},
		"is_enterprise_install": {"false"},
		"response_url":          {p.ResponseURL},
		"trigger_id":            {orDefault(p.TriggerID, defaultTriggerID)},
	}
}

// JSON returns the command as the payload of a Socket Mode envelope: the
// form's fields as a JSON object of strings, as Slack sends it.
func (p SlashCommandPayload) JSON() json.RawMessage {
	fields := make(map[string]string)
	for k, vs := range p.Form() {
		fields[k] = vs[0]
	}
	return mustJSON(fields)
}

// SlashCommand returns a "slash_commands" envelope with a fresh envelope ID.
func SlashCommand(cmd SlashCommandPayload) Envelope {
	return Envelope{EnvelopeID: newEnvelopeID(), Type: "slash_commands", Payload: cmd.JSON(), AcceptsResponsePayload: true}
}

// Action is one element of a block_actions payload: a button press.
type Action struct {
	ActionID string
	BlockID  string
	Value    string
	Text     string // the button's label; optional
	Type     string // default "button"
	ActionTS string // default "1700000000.000001"
}

// BlockActionPayload is a press of buttons on a message the bot posted.
// Empty TeamID, APIAppID and TriggerID get the package defaults.
type BlockActionPayload struct {
	UserID      string
	UserName    string
	TeamID      string
	APIAppID    string
	ChannelID   string
	ChannelName string
	MessageTS   string          // ts of the message holding the buttons
	ThreadTS    string          // its thread, if it is a reply
	MessageText string          // sent back in "message"
	Blocks      json.RawMessage // the message's blocks, sent back in "message"
	// Ephemeral marks buttons on an ephemeral message: Slack then sends
	// container.is_ephemeral and no "message".
	Ephemeral   bool
	TriggerID   string
	ResponseURL string
	Actions     []Action
}

type idName struct {
	ID       string `json:"id"`
	Name     string `json:"name,omitempty"`
	Username string `json:"username,omitempty"`
	TeamID   string `json:"team_id,omitempty"`
	Domain   string `json:"domain,omitempty"`
}

type textObject struct {
	Type  string `json:"type"`
	Text  string `json:"text"`
	Emoji bool   `json:"emoji"`
}

type actionJSON struct {
	ActionID string      `json:"action_id"`
	BlockID  string      `json:"block_id"`
	Text     *textObject `json:"text,omitempty"`
	Value    string      `json:"value"`
	Type     string      `json:"type"`
	ActionTS string      `json:"action_ts"`
}

type container struct {
	Type        string `json:"type"`
	MessageTS   string `json:"message_ts"`
	ThreadTS    string `json:"thread_ts,omitempty"`
	ChannelID   string `json:"channel_id"`
	IsEphemeral bool   `json:"is_ephemeral"`
}

type messageJSON struct {
	Type     string          `json:"type"`
	TS       string          `json:"ts"`
	ThreadTS string          `json:"thread_ts,omitempty"`
	Text     string          `json:"text"`
	Blocks   json.RawMessage `json:"blocks,omitempty"`
}

// JSON returns the interaction payload Slack sends for the press.
func (p BlockActionPayload) JSON() json.RawMessage {
	team := orDefault(p.TeamID, defaultTeamID)
	actions := make([]actionJSON, 0, len(p.Actions))
	for _, a := range p.Actions {
		aj := actionJSON{
			ActionID: a.ActionID, BlockID: a.BlockID, Value: a.Value,
			Type: orDefault(a.Type, "button"), ActionTS: orDefault(a.ActionTS, "1700000000.000001"),
		}
		if a.Text != "" {
			aj.Text = &textObject{Type: "plain_text", Text: a.Text, Emoji: true}
		}
		actions = append(actions, aj)
	}
	var msg *messageJSON
	if !p.Ephemeral {
		msg = &messageJSON{Type: "message", TS: p.MessageTS, ThreadTS: p.ThreadTS, Text: p.MessageText, Blocks: p.Blocks}
	}
	return mustJSON(struct {
		Type                string       `json:"type"`
		User                idName       `json:"user"`
		APIAppID            string       `json:"api_app_id"`
		Token               string       `json:"token"`
		Container           container    `json:"container"`
		TriggerID           string       `json:"trigger_id"`
		Team                idName       `json:"team"`
		Enterprise          any          `json:"enterprise"`
		IsEnterpriseInstall bool         `json:"is_enterprise_install"`
		Channel             idName       `json:"channel"`
		Message             *messageJSON `json:"message,omitempty"`
		State               any          `json:"state"`
		ResponseURL         string       `json:"response_url"`
		Actions             []actionJSON `json:"actions"`
	}{
		Type:        "block_actions",
		User:        idName{ID: p.UserID, Username: p.UserName, Name: p.UserName, TeamID: team},
		APIAppID:    orDefault(p.APIAppID, defaultAppID),
		Token:       verificationToken,
		Container:   container{Type: "message", MessageTS: p.MessageTS, ThreadTS: p.ThreadTS, ChannelID: p.ChannelID, IsEphemeral: p.Ephemeral},
		TriggerID:   orDefault(p.TriggerID, defaultTriggerID),
		Team:        idName{ID: team, Domain: defaultTeamDomain},
		Channel:     idName{ID: p.ChannelID, Name: p.ChannelName},
		Message:     msg,
		State:       map[string]any{"values": map[string]any{}},
		ResponseURL: p.ResponseURL,
		Actions:     actions,
	})
}

// Form returns the press as Slack POSTs it to an HTTP-mode app's
// interactivity URL: one form field "payload" holding the JSON.
func (p BlockActionPayload) Form() url.Values { return url.Values{"payload": {string(p.JSON())}} }

// BlockAction returns an "interactive" envelope for the press with a fresh
// envelope ID.
func BlockAction(p BlockActionPayload) Envelope {
	return Envelope{EnvelopeID: newEnvelopeID(), Type: "interactive", Payload: p.JSON()}
}

// ViewSubmissionPayload is the submission of a modal. Empty TeamID,
// APIAppID and TriggerID get the package defaults.
type ViewSubmissionPayload struct {
	UserID          string
	UserName        string
	TeamID          string
	APIAppID        string
	TriggerID       string
	ViewID          string // the ID views.open answered (see View.ID)
	CallbackID      string
	PrivateMetadata string
	Blocks          json.RawMessage // the view's blocks; default []
	// Values maps block_id to action_id to the text typed into that
	// plain_text_input.
	Values map[string]map[string]string
}

type inputValue struct {
	Type  string `json:"type"`
	Value string `json:"value"`
}

// JSON returns the interaction payload Slack sends for the submission.
func (p ViewSubmissionPayload) JSON() json.RawMessage {
	team := orDefault(p.TeamID, defaultTeamID)
	app := orDefault(p.APIAppID, defaultAppID)
	values := make(map[string]map[string]inputValue, len(p.Values))
	for block, byAction := range p.Values {
		values[block] = make(map[string]inputValue, len(byAction))
		for action, v := range byAction {
			values[block][action] = inputValue{Type: "plain_text_input", Value: v}
		}
	}
	blocks := p.Blocks
	if blocks == nil {
		blocks = json.RawMessage(`[]`)
	}
	type view struct {
		ID                 string          `json:"id"`
		TeamID             string          `json:"team_id"`
		Type               string          `json:"type"`
		Blocks             json.RawMessage `json:"blocks"`
		PrivateMetadata    string          `json:"private_metadata"`
		CallbackID         string          `json:"callback_id"`
		State              any             `json:"state"`
		Hash               string          `json:"hash"`
		RootViewID         string          `json:"root_view_id"`
		PreviousViewID     any             `json:"previous_view_id"`
		AppID              string          `json:"app_id"`
		AppInstalledTeamID string          `json:"app_installed_team_id"`
	}
	return mustJSON(struct {
		Type                string   `json:"type"`
		Team                idName   `json:"team"`
		User                idName   `json:"user"`
		APIAppID            string   `json:"api_app_id"`
		Token               string   `json:"token"`
		TriggerID           string   `json:"trigger_id"`
		View                view     `json:"view"`
		ResponseURLs        []string `json:"response_urls"`
		IsEnterpriseInstall bool     `json:"is_enterprise_install"`
		Enterprise          any      `json:"enterprise"`
	}{
		Type:      "view_submission",
		Team:      idName{ID: team, Domain: defaultTeamDomain},
		User:      idName{ID: p.UserID, Username: p.UserName, Name: p.UserName, TeamID: team},
		APIAppID:  app,
		Token:     verificationToken,
		TriggerID: orDefault(p.TriggerID, defaultTriggerID),
		View: view{
			ID: p.ViewID, TeamID: team, Type: "modal", Blocks: blocks,
			PrivateMetadata: p.PrivateMetadata, CallbackID: p.CallbackID,
			State: map[string]any{"values": values}, Hash: "1700000000.slacktest",
			RootViewID: p.ViewID, AppID: app, AppInstalledTeamID: team,
		},
		ResponseURLs: []string{},
	})
}

// Form returns the submission as Slack POSTs it to an HTTP-mode app: one
// form field "payload" holding the JSON.
func (p ViewSubmissionPayload) Form() url.Values { return url.Values{"payload": {string(p.JSON())}} }

// ViewSubmission returns an "interactive" envelope for the submission with
// a fresh envelope ID. Slack accepts a response payload (response_action)
// in the ack.
func ViewSubmission(p ViewSubmissionPayload) Envelope {
	return Envelope{EnvelopeID: newEnvelopeID(), Type: "interactive", Payload: p.JSON(), AcceptsResponsePayload: true}
}

// newEnvelopeID returns a UUID-shaped ID like Slack's envelope IDs.
func newEnvelopeID() string {
	h := randomID(16)
	return h[0:8] + "-" + h[8:12] + "-" + h[12:16] + "-" + h[16:20] + "-" + h[20:32]
}

func mustJSON(v any) json.RawMessage {
	b, err := json.Marshal(v)
	if err != nil {
		// Only the builders' own types are marshalled; failing here is a bug.
		panic("slacktest: marshal payload: " + err.Error())
	}
	return b
}
