package githubtest

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"
)

// maxDescription is GitHub's limit on status descriptions, in characters.
const maxDescription = 140

// linkLifetime is how long a codeload link from a tarball redirect works.
const linkLifetime = 5 * time.Minute

var shaRE = regexp.MustCompile(`^[0-9a-f]{40}$`)

// Status is a commit status as GitHub received it. A field that was not
// sent is empty; Keys tells missing from empty.
type Status struct {
	Repo        string // owner/name
	SHA         string
	Context     string
	State       string
	Description string
	TargetURL   string
	// Keys are the JSON keys of the request body, sorted.
	Keys []string
	// Credential is the token the request carried.
	Credential string
}

// Deployment is a deployment as GitHub received it.
type Deployment struct {
	ID          int64
	Repo        string
	Ref         string
	Task        string
	Environment string
	Description string
	// Payload is the decoded payload (map[string]any for an object), nil
	// when none was sent.
	Payload any
	// AutoMerge is nil when not sent; GitHub's default is true.
	AutoMerge *bool
	// RequiredContexts is nil when not sent (GitHub's default: every
	// context on the commit must be green) and points to an empty slice
	// for "required_contexts": [].
	RequiredContexts      *[]string
	TransientEnvironment  *bool
	ProductionEnvironment *bool
	Keys                  []string
	Credential            string
}

// DeploymentStatus is a deployment status as GitHub received it.
type DeploymentStatus struct {
	ID             int64
	Repo           string
	DeploymentID   int64
	State          string
	Description    string
	LogURL         string
	TargetURL      string
	Environment    string
	EnvironmentURL string
	AutoInactive   *bool
	Keys           []string
	Credential     string
}

// archiveLink is what a codeload token opens.
type archiveLink struct {
	key     string // owner/repo@ref
	expires time.Time
}

// serveRepos answers /repos/{owner}/{repo}/…; rest lacks "/repos/".
func (s *Server) serveRepos(w http.ResponseWriter, r *http.Request, rest, cred string) {
	parts := strings.Split(rest, "/")
	if len(parts) == 2 {
		parts = append(parts, "") // GET /repos/{o}/{r}
	}
	if len(parts) < 3 || parts[0] == "" || parts[1] == "" {
		notFound(w)
		return
	}
	repo := parts[0] + "/" + parts[1]
	may := func(perm, level string) bool { return s.authorize(w, repo, cred, perm, level) }
	get := r.Method == http.MethodGet
	switch p := parts[2:]; {
	case r.Method == http.MethodPost && len(p) == 2 && p[0] == "statuses":
		if may(PermStatuses, Write) {
			s.createStatus(w, r, repo, p[1], cred)
		}
	case r.Method == http.MethodPost && len(p) == 1 && p[0] == "deployments":
		if may(PermDeployments, Write) {
			s.createDeployment(w, r, repo, cred)
		}
	case r.Method == http.MethodPost && len(p) == 3 && p[0] == "deployments" && p[2] == "statuses":
		if may(PermDeployments, Write) {
			s.createDeploymentStatus(w, r, repo, p[1], cred)
		}
	case r.Method == http.MethodPost && len(p) == 4 && p[0] == "actions" && p[1] == "runs" && p[3] == "deployment_protection_rule":
		if may(PermDeployments, Write) && may(PermActions, Read) {
			s.reviewGate(w, r, repo, p[2], cred)
		}
	case get && len(p) >= 2 && p[0] == "branches":
		if may(PermContents, Read) {
			s.getBranch(w, r, repo, strings.Join(p[1:], "/"))
		}
	case get && len(p) >= 2 && p[0] == "tarball":
		if may(PermContents, Read) {
			s.tarballLink(w, r, repo, strings.Join(p[1:], "/"))
		}
	case get && len(p) == 1 && p[0] == "":
		if may(PermMetadata, Read) {
			s.getRepo(w, repo, cred)
		}
	case get && len(p) == 1 && p[0] == "commits":
		if may(PermContents, Read) {
			writeJSON(w, http.StatusOK, []any{}) // the fake knows no commits
		}
	case get && len(p) == 3 && p[0] == "commits" && p[2] == "status":
		if may(PermStatuses, Read) {
			writeJSON(w, http.StatusOK, map[string]any{"state": "pending", "statuses": []any{}, "total_count": 0})
		}
	case get && len(p) == 1 && p[0] == "deployments":
		if may(PermDeployments, Read) {
			writeJSON(w, http.StatusOK, []any{}) // the probe only asks for access
		}
	case get && len(p) >= 2 && p[0] == "compare":
		if may(PermContents, Read) {
			s.compare(w, r, repo, strings.Join(p[1:], "/"))
		}
	case get && len(p) == 1 && p[0] == "pulls":
		if may(PermPullRequests, Read) {
			writeJSON(w, http.StatusOK, []any{})
		}
	default:
		notFound(w)
	}
}

// getRepo answers GET /repos/{o}/{r}. permissions are the user's role on
// the repository (for a token), not what the token may do.
func (s *Server) getRepo(w http.ResponseWriter, repo, cred string) {
	r, _ := s.repo(repo)
	out := map[string]any{
		"full_name": repo, "name": strings.SplitN(repo, "/", 2)[1], "private": r.Private,
		"default_branch": r.DefaultBranch,
	}
	if s.kindOf(cred) != credApp {
		out["permissions"] = map[string]bool{"admin": true, "maintain": true, "push": true, "triage": true, "pull": true}
	}
	writeJSON(w, http.StatusOK, out)
}

func (s *Server) createStatus(w http.ResponseWriter, r *http.Request, repo, sha, cred string) {
	var body struct {
		State, Description, Context string
		TargetURL                   string `json:"target_url"`
	}
	keys, ok := decodeBody(w, r, &body)
	if !ok {
		return
	}
	if !shaRE.MatchString(sha) {
		writeJSON(w, http.StatusUnprocessableEntity, errorBody("No commit found for SHA: "+sha))
		return
	}
	if !slices.Contains([]string{"error", "failure", "pending", "success"}, body.State) {
		validationFailed(w, "Status", "state", "state is not included in the list")
		return
	}
	if !checkDescription(w, "Status", body.Description) || !checkURL(w, "Status", "target_url", body.TargetURL) {
		return
	}
	if body.Context == "" {
		body.Context = "default"
	}
	st := Status{
		Repo: repo, SHA: sha, Context: body.Context, State: body.State,
		Description: body.Description, TargetURL: body.TargetURL,
		Keys: keys, Credential: cred,
	}
	s.mu.Lock()
	s.statuses = append(s.statuses, st)
	id := s.newIDLocked()
	s.mu.Unlock()
	writeJSON(w, http.StatusCreated, map[string]any{
		"id": id, "url": s.api.URL + apiPrefix + "/repos/" + repo + "/statuses/" + sha,
		"state": st.State, "description": st.Description, "target_url": st.TargetURL,
		"context": st.Context, "created_at": time.Now().UTC().Format(time.RFC3339),
	})
}

func (s *Server) createDeployment(w http.ResponseWriter, r *http.Request, repo, cred string) {
	d, ok := readDeployment(w, r, repo, cred)
	if !ok || !s.addDeployment(w, &d) {
		return
	}
	writeJSON(w, http.StatusCreated, map[string]any{
		"id": d.ID, "node_id": fmt.Sprintf("DE_%d", d.ID),
		"url": s.api.URL + apiPrefix + "/repos/" + repo + "/deployments/" + strconv.FormatInt(d.ID, 10),
		"sha": d.Ref, "ref": d.Ref, "task": d.Task, "payload": d.Payload,
		"environment": d.Environment, "original_environment": d.Environment,
		"description": d.Description, "created_at": time.Now().UTC().Format(time.RFC3339),
	})
}

// readDeployment decodes and validates a request to create a deployment,
// with GitHub's defaults filled in; it answers a bad one itself.
func readDeployment(w http.ResponseWriter, r *http.Request, repo, cred string) (Deployment, bool) {
	var body struct {
		Ref, Task, Environment, Description string
		Payload                             json.RawMessage
		AutoMerge                           *bool     `json:"auto_merge"`
		RequiredContexts                    *[]string `json:"required_contexts"`
		TransientEnvironment                *bool     `json:"transient_environment"`
		ProductionEnvironment               *bool     `json:"production_environment"`
	}
	keys, ok := decodeBody(w, r, &body)
	if !ok {
		return Deployment{}, false
	}
	if body.Ref == "" {
		validationFailed(w, "Deployment", "ref", "ref is missing")
		return Deployment{}, false
	}
	if !shaRE.MatchString(body.Ref) { // the fake knows no branches or tags
		writeJSON(w, http.StatusUnprocessableEntity, errorBody("No ref found for: "+body.Ref))
		return Deployment{}, false
	}
	payload, ok := deploymentPayload(w, body.Payload)
	if !ok {
		return Deployment{}, false
	}
	d := Deployment{
		Repo: repo, Ref: body.Ref, Task: body.Task, Environment: body.Environment,
		Description: body.Description, Payload: payload, AutoMerge: body.AutoMerge,
		RequiredContexts: body.RequiredContexts, TransientEnvironment: body.TransientEnvironment,
		ProductionEnvironment: body.ProductionEnvironment, Keys: keys, Credential: cred,
	}
	if d.Task == "" {
		d.Task = "deploy"
	}
	if d.Environment == "" {
		d.Environment = "production"
	}
	return d, true
}

// deploymentPayload is a deployment's payload, which GitHub takes as an
// object or a JSON string; it answers any other itself.
func deploymentPayload(w http.ResponseWriter, raw json.RawMessage) (any, bool) {
	var payload any
	if len(raw) > 0 {
		if err := json.Unmarshal(raw, &payload); err != nil {
			payload = nil
		}
		switch payload.(type) {
		case map[string]any, string:
		default:
			validationFailed(w, "Deployment", "payload", "payload must be an object or a JSON string")
			return nil, false
		}
	}
	return payload, true
}

// addDeployment records d with a new ID, unless GitHub would not create
// it: an auto-merge (202) or failing required contexts (409), which it
// answers itself.
func (s *Server) addDeployment(w http.ResponseWriter, d *Deployment) bool {
	s.mu.Lock()
	if s.accepted > 0 {
		s.accepted--
		s.mu.Unlock()
		writeJSON(w, http.StatusAccepted, map[string]string{
			"message": "Auto-merged main into " + d.Ref + " on deployment.",
		})
		return false
	}
	if failing := s.failingContextsLocked(d.Repo, d.Ref, d.RequiredContexts); len(failing) > 0 {
		s.mu.Unlock()
		writeJSON(w, http.StatusConflict, map[string]any{
			"message": "Conflict: Commit status checks failed for " + d.Ref + ".",
			"errors": []map[string]any{{
				"contexts": failing, "resource": "Deployment", "field": "required_contexts", "code": "invalid",
			}},
			"documentation_url": docsURL,
		})
		return false
	}
	d.ID = s.newIDLocked()
	s.deployments = append(s.deployments, *d)
	s.mu.Unlock()
	return true
}

// failingContextsLocked returns the required contexts whose latest status
// on repo@sha is not success: with required (nil meaning every context
// the commit has) that is GitHub's check before creating a deployment.
func (s *Server) failingContextsLocked(repo, sha string, required *[]string) []map[string]string {
	latest := map[string]string{}
	var order []string
	for _, st := range s.statuses {
		if st.Repo == repo && st.SHA == sha {
			if _, seen := latest[st.Context]; !seen {
				order = append(order, st.Context)
			}
			latest[st.Context] = st.State
		}
	}
	want := order
	if required != nil {
		want = *required
	}
	var failing []map[string]string
	for _, c := range want {
		if state := latest[c]; state != "success" {
			if state == "" {
				state = "missing"
			}
			failing = append(failing, map[string]string{"context": c, "state": state})
		}
	}
	return failing
}

func (s *Server) createDeploymentStatus(w http.ResponseWriter, r *http.Request, repo, idText, cred string) {
	var body struct {
		State, Description, Environment string
		LogURL                          string `json:"log_url"`
		TargetURL                       string `json:"target_url"`
		EnvironmentURL                  string `json:"environment_url"`
		AutoInactive                    *bool  `json:"auto_inactive"`
	}
	keys, ok := decodeBody(w, r, &body)
	if !ok {
		return
	}
	id, err := strconv.ParseInt(idText, 10, 64)
	s.mu.Lock()
	found := slices.ContainsFunc(s.deployments, func(d Deployment) bool { return d.ID == id && d.Repo == repo })
	s.mu.Unlock()
	if err != nil || !found {
		notFound(w)
		return
	}
	states := []string{"error", "failure", "inactive", "in_progress", "queued", "pending", "success"}
	if !slices.Contains(states, body.State) {
		validationFailed(w, "DeploymentStatus", "state", "state is not included in the list")
		return
	}
	if !checkDescription(w, "DeploymentStatus", body.Description) ||
		!checkURL(w, "DeploymentStatus", "log_url", body.LogURL) ||
		!checkURL(w, "DeploymentStatus", "target_url", body.TargetURL) ||
		!checkURL(w, "DeploymentStatus", "environment_url", body.EnvironmentURL) {
		return
	}
	ds := DeploymentStatus{
		Repo: repo, DeploymentID: id, State: body.State, Description: body.Description,
		LogURL: body.LogURL, TargetURL: body.TargetURL, Environment: body.Environment,
		EnvironmentURL: body.EnvironmentURL, AutoInactive: body.AutoInactive,
		Keys: keys, Credential: cred,
	}
	s.mu.Lock()
	ds.ID = s.newIDLocked()
	s.deploymentStatuses = append(s.deploymentStatuses, ds)
	s.mu.Unlock()
	writeJSON(w, http.StatusCreated, map[string]any{
		"id": ds.ID, "state": ds.State, "description": ds.Description, "log_url": ds.LogURL,
		"target_url": ds.TargetURL, "environment_url": ds.EnvironmentURL,
		"deployment_url": s.api.URL + apiPrefix + "/repos/" + repo + "/deployments/" + idText,
		"created_at":     time.Now().UTC().Format(time.RFC3339),
	})
}

// tarballLink answers GET /repos/{o}/{r}/tarball/{ref} with a 302 to a
// short-lived codeload link, as GitHub does, or with [Options.TarballDirect]
// with 200 and the archive itself.
func (s *Server) tarballLink(w http.ResponseWriter, r *http.Request, repo, ref string) {
	key := repo + "@" + ref
	if _, ok := s.opts.Tarballs[key]; !ok {
		notFound(w)
		return
	}
	if s.opts.TarballDirect {
		s.writeArchive(w, r, repo, ref, s.opts.Tarballs[key])
		return
	}
	tok := randomBase62(20)
	s.mu.Lock()
	s.links[tok] = archiveLink{key: key, expires: time.Now().Add(linkLifetime)}
	s.mu.Unlock()
	loc := s.codeload.URL + "/_codeload/" + repo + "/legacy.tar.gz/" + ref + "?token=" + url.QueryEscape(tok)
	w.Header().Set("Location", loc)
	w.WriteHeader(http.StatusFound)
}

// serveCodeload serves an archive for a link from tarballLink; rest is
// "{o}/{r}/legacy.tar.gz/{ref}".
func (s *Server) serveCodeload(w http.ResponseWriter, r *http.Request, rest string, foreign bool) {
	if foreign && r.Header.Get("Authorization") != "" {
		writeJSON(w, http.StatusBadRequest, errorBody("githubtest: API credentials sent to the codeload host"))
		return
	}
	parts := strings.SplitN(rest, "/", 4)
	if r.Method != http.MethodGet || len(parts) != 4 || parts[2] != "legacy.tar.gz" {
		notFound(w)
		return
	}
	key := parts[0] + "/" + parts[1] + "@" + parts[3]
	s.mu.Lock()
	link, ok := s.links[r.URL.Query().Get("token")]
	s.mu.Unlock()
	data, exists := s.opts.Tarballs[key]
	if !ok || !exists || link.key != key || time.Now().After(link.expires) {
		notFound(w)
		return
	}
	s.writeArchive(w, r, parts[0]+"/"+parts[1], parts[3], data)
}

// writeArchive sends data as GitHub sends an archive, pausing halfway
// while a Stall holds.
func (s *Server) writeArchive(w http.ResponseWriter, r *http.Request, repo, ref string, data []byte) {
	s.mu.Lock()
	stall := s.stall
	s.mu.Unlock()
	sha := ref
	if len(sha) > 7 {
		sha = sha[:7]
	}
	h := w.Header()
	h.Set("Content-Type", "application/x-gzip")
	h.Set("Content-Disposition", fmt.Sprintf("attachment; filename=%s-%s.tar.gz", strings.ReplaceAll(repo, "/", "-"), sha))
	h.Set("Content-Length", strconv.Itoa(len(data)))
	w.WriteHeader(http.StatusOK)
	if stall != nil {
		half := len(data) / 2
		_, _ = w.Write(data[:half])
		if f, ok := w.(http.Flusher); ok {
			f.Flush()
		}
		data = data[half:]
		select {
		case <-stall:
		case <-r.Context().Done():
			return
		}
	}
	_, _ = w.Write(data)
}

func (s *Server) newIDLocked() int64 {
	s.nextID++
	return s.nextID
}

// decodeBody decodes a JSON object body into v and returns its keys,
// sorted. On failure it has answered 400 as GitHub does.
func decodeBody(w http.ResponseWriter, r *http.Request, v any) ([]string, bool) {
	b, err := io.ReadAll(io.LimitReader(r.Body, 1<<20))
	var fields map[string]json.RawMessage
	if err == nil {
		err = json.Unmarshal(b, &fields)
	}
	if err == nil && fields == nil {
		err = fmt.Errorf("not an object")
	}
	if err == nil {
		err = json.Unmarshal(b, v)
	}
	if err != nil {
		writeJSON(w, http.StatusBadRequest, errorBody("Problems parsing JSON"))
		return nil, false
	}
	keys := make([]string, 0, len(fields))
	for k := range fields {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys, true
}

func checkDescription(w http.ResponseWriter, resource, d string) bool {
	if utf8.RuneCountInString(d) > maxDescription {
		validationFailed(w, resource, "description", "description is too long (maximum is 140 characters)")
		return false
	}
	return true
}

// checkURL accepts an empty string or an absolute http(s) URL.
func checkURL(w http.ResponseWriter, resource, field, u string) bool {
	if u == "" {
		return true
	}
	p, err := url.Parse(u)
	if err != nil || (p.Scheme != "http" && p.Scheme != "https") || p.Host == "" {
		validationFailed(w, resource, field, field+" must be an http or https URL")
		return false
	}
	return true
}
