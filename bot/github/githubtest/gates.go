package githubtest

import (
	"encoding/json"
	"fmt"
	"net/http"
	"slices"
	"strconv"
	"strings"
)

// PermActions is the GitHub App permission a custom deployment
// protection rule reads workflow runs with.
const PermActions = "actions"

// Gate is a deployment waiting in a workflow run at a custom deployment
// protection rule, as the deployment_protection_rule delivery says it.
type Gate struct {
	Repo        string // owner/name
	Environment string
	Deployment  int64
	Run         int64
	Ref         string // default refs/heads/main
	SHA         string
	Creator     string // deployment.creator.login (default the owner)
	Sender      string // sender.login (default Creator)
	// Action is the delivery's action (default requested).
	Action string
	// APIURL is the API base the callback URL is under (default
	// https://api.github.com/).
	APIURL string
	// InstallationID is installation.id (default 1).
	InstallationID int64
}

// GateDelivery returns the deployment_protection_rule delivery id of g,
// in the shape GitHub sends (the fields a client reads, and a few more;
// see testdata/deployment-protection-rule.json in bot/github for a whole
// one). It panics on what GitHub never sends: no repository,
// environment, deployment or run.
func GateDelivery(id string, g Gate) Delivery {
	if !strings.Contains(g.Repo, "/") || g.Environment == "" || g.Deployment <= 0 || g.Run <= 0 || g.SHA == "" {
		panic(fmt.Sprintf("githubtest: GitHub never sends a deployment_protection_rule delivery like %+v", g))
	}
	owner, name, _ := strings.Cut(g.Repo, "/")
	if g.Ref == "" {
		g.Ref = "refs/heads/main"
	}
	if g.Creator == "" {
		g.Creator = owner
	}
	if g.Sender == "" {
		g.Sender = g.Creator
	}
	if g.Action == "" {
		g.Action = "requested"
	}
	if g.APIURL == "" {
		g.APIURL = "https://api.github.com/"
	}
	if g.InstallationID == 0 {
		g.InstallationID = 1
	}
	api := strings.TrimSuffix(g.APIURL, "/")
	repoURL := api + "/repos/" + g.Repo
	depURL := fmt.Sprintf("%s/deployments/%d", repoURL, g.Deployment)
	user := func(login string) map[string]any {
		return map[string]any{"login": login, "id": 1, "type": "User", "url": api + "/users/" + login, "html_url": "https://github.com/" + login}
	}
	body := map[string]any{
		"action":                  g.Action,
		"environment":             g.Environment,
		"event":                   "push",
		"deployment_callback_url": fmt.Sprintf("%s/actions/runs/%d/deployment_protection_rule", repoURL, g.Run),
		"deployment": map[string]any{
			"url": depURL, "id": g.Deployment, "node_id": "DE_kwDO" + strconv.FormatInt(g.Deployment, 36),
			"sha": g.SHA, "ref": strings.TrimPrefix(g.Ref, "refs/heads/"), "task": "deploy", "payload": map[string]any{},
			"original_environment": g.Environment, "environment": g.Environment, "description": nil,
			"creator":    user(g.Creator),
			"created_at": "2026-01-05T10:00:00Z", "updated_at": "2026-01-05T10:00:00Z",
			"statuses_url": depURL + "/statuses", "repository_url": repoURL,
		},
		"repository": map[string]any{
			"name": name, "full_name": g.Repo, "private": true, "owner": user(owner),
			"html_url": "https://github.com/" + g.Repo, "url": repoURL,
		},
		"sender":       user(g.Sender),
		"installation": map[string]any{"id": g.InstallationID, "node_id": "MDIzOkludGVncmF0aW9uSW5zdGFsbGF0aW9u"},
	}
	if !strings.HasPrefix(g.Ref, "refs/heads/") {
		body["deployment"].(map[string]any)["ref"] = g.Ref
	}
	b, err := json.Marshal(body)
	if err != nil {
		panic(err) // maps of strings and numbers
	}
	return Delivery{Event: "deployment_protection_rule", ID: id, Body: b}
}

// GateReview is one answer to a deployment protection rule the server
// took (POST /repos/{o}/{r}/actions/runs/{run}/deployment_protection_rule).
type GateReview struct {
	Repo            string
	Run             int64
	EnvironmentName string
	State           string // approved or rejected
	Comment         string
}

// gateKey names a waiting (run, environment) of a repository.
type gateKey struct {
	repo        string // lower case
	run         int64
	environment string
}

// WaitGate makes a workflow run of repo wait at environment's custom
// deployment protection rule: the server takes one answer for it. A run
// or environment it was not told of answers 404 and 422, as GitHub does.
func (s *Server) WaitGate(repo string, run int64, environment string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.gates == nil {
		s.gates = map[gateKey]bool{}
	}
	s.gates[gateKey{strings.ToLower(repo), run, environment}] = true
}

// GateReviews returns the answers taken so far, in order.
func (s *Server) GateReviews() []GateReview {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Clone(s.gateReviews)
}

// reviewGate answers POST …/actions/runs/{run}/deployment_protection_rule
// as GitHub does: GitHub App installation tokens only (anything else
// 403), environment_name and state required, state approved or
// rejected, no other fields but comment; 204 on success. A run that is
// not waiting is 404, an environment it is not waiting at (or answered
// already) 422.
func (s *Server) reviewGate(w http.ResponseWriter, r *http.Request, repo, runText, cred string) {
	if s.kindOf(cred) != credApp {
		writeJSON(w, http.StatusForbidden, errorBody("Resource not accessible by personal access token"))
		return
	}
	var body struct {
		EnvironmentName *string `json:"environment_name"`
		State           *string `json:"state"`
		Comment         *string `json:"comment"`
	}
	keys, ok := decodeBody(w, r, &body)
	if !ok {
		return
	}
	for _, k := range keys {
		if k != "environment_name" && k != "state" && k != "comment" {
			validationFailed(w, "DeploymentProtectionRule", k, k+" is not a permitted key")
			return
		}
	}
	switch {
	case body.EnvironmentName == nil || *body.EnvironmentName == "":
		validationFailed(w, "DeploymentProtectionRule", "environment_name", "environment_name wasn't supplied")
		return
	case body.State == nil || (*body.State != "approved" && *body.State != "rejected"):
		validationFailed(w, "DeploymentProtectionRule", "state", "state must be one of approved, rejected")
		return
	}
	run, err := strconv.ParseInt(runText, 10, 64)
	if err != nil || run <= 0 {
		notFound(w)
		return
	}
	key := gateKey{strings.ToLower(repo), run, *body.EnvironmentName}
	s.mu.Lock()
	known, waiting := false, s.gates[key]
	for k := range s.gates {
		known = known || k.repo == key.repo && k.run == run
	}
	if waiting {
		s.gates[key] = false
		rv := GateReview{Repo: repo, Run: run, EnvironmentName: *body.EnvironmentName, State: *body.State}
		if body.Comment != nil {
			rv.Comment = *body.Comment
		}
		s.gateReviews = append(s.gateReviews, rv)
	}
	s.mu.Unlock() // answers take it again (rate headers)
	switch {
	case !known:
		notFound(w)
		return
	case !waiting:
		validationFailed(w, "DeploymentProtectionRule", "environment_name", "No pending deployment protection rule for environment "+*body.EnvironmentName)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

// GateStatusDelivery returns the deployment_status delivery id that says
// deployment dep of g (its Repo, Environment, Deployment, SHA, Ref,
// Creator) is now state, in the shape GitHub sends.
func GateStatusDelivery(id string, g Gate, state, description string) Delivery {
	if !strings.Contains(g.Repo, "/") || g.Environment == "" || g.Deployment <= 0 || state == "" {
		panic(fmt.Sprintf("githubtest: GitHub never sends a deployment_status delivery like %+v %q", g, state))
	}
	owner, name, _ := strings.Cut(g.Repo, "/")
	if g.Creator == "" {
		g.Creator = owner
	}
	if g.Sender == "" {
		g.Sender = "github-actions[bot]"
	}
	if g.Ref == "" {
		g.Ref = "main"
	}
	repoURL := "https://api.github.com/repos/" + g.Repo
	depURL := fmt.Sprintf("%s/deployments/%d", repoURL, g.Deployment)
	body := map[string]any{
		"action": "created",
		"deployment_status": map[string]any{
			"url": depURL + "/statuses/1", "id": g.Deployment*10 + 1, "state": state, "description": description,
			"environment": g.Environment, "creator": map[string]any{"login": g.Sender},
			"created_at": "2026-01-05T10:05:00Z", "updated_at": "2026-01-05T10:05:00Z",
			"deployment_url": depURL, "repository_url": repoURL,
			"log_url":    fmt.Sprintf("https://github.com/%s/actions/runs/%d/job/1", g.Repo, g.Run),
			"target_url": fmt.Sprintf("https://github.com/%s/actions/runs/%d/job/1", g.Repo, g.Run),
		},
		"deployment": map[string]any{
			"url": depURL, "id": g.Deployment, "sha": g.SHA, "ref": g.Ref, "task": "deploy",
			"environment": g.Environment, "original_environment": g.Environment,
			"creator": map[string]any{"login": g.Creator}, "statuses_url": depURL + "/statuses", "repository_url": repoURL,
		},
		"repository": map[string]any{"name": name, "full_name": g.Repo, "owner": map[string]any{"login": owner}},
		"sender":     map[string]any{"login": g.Sender},
	}
	b, err := json.Marshal(body)
	if err != nil {
		panic(err)
	}
	return Delivery{Event: "deployment_status", ID: id, Body: b}
}
