package github_test

import (
	"bytes"
	"context"
	"errors"
	"net/http"
	"strings"
	"testing"

	"github.com/countersign/countersign/bot"
	"github.com/countersign/countersign/bot/github"
	"github.com/countersign/countersign/bot/github/githubtest"
)

func gateReport(state string) bot.Report {
	return bot.Report{Repo: repRepo, SHA: repSHA, Gate: &bot.GateAnswer{Request: "R7", Gate: "web-production",
		Environment: "production", Run: 99, Deployment: 5, State: state, Comment: "Countersign R7 approved by U1"}}
}

// TestReport_Gate: the App's installation answers the rule once; GitHub
// refuses a second answer for good (422), which is not retried.
func TestReport_Gate(t *testing.T) {
	srv := appServer(t, githubtest.Options{})
	srv.WaitGate(repRepo, 99, "production")
	c := appClient(t, srv, "", appKey(t, 0), appInstallation)
	id, err := c.Report(context.Background(), gateReport(bot.GateApproved))
	if err != nil || id != "answered" {
		t.Fatalf("Report = %q, %v", id, err)
	}
	want := githubtest.GateReview{Repo: repRepo, Run: 99, EnvironmentName: "production", State: "approved", Comment: "Countersign R7 approved by U1"}
	if got := srv.GateReviews(); len(got) != 1 || got[0] != want {
		t.Errorf("reviews = %+v, want %+v", got, want)
	}
	_, err = c.Report(context.Background(), gateReport(bot.GateRejected))
	if !errors.Is(err, bot.ErrChatRejected) || !strings.Contains(err.Error(), "422") {
		t.Errorf("second answer: %v, want a 422 that is not retried", err)
	}
}

// TestReport_GateErrors: what GitHub would refuse is refused before any
// call: a token client (answers come from Apps only), a state other than
// approved and rejected, no run or environment, and two kinds of report
// at once. A server error is retried (plain error).
func TestReport_GateErrors(t *testing.T) {
	srv := appServer(t, githubtest.Options{Token: repToken})
	srv.WaitGate(repRepo, 99, "production")
	tokenClient, err := github.NewClient(github.Auth{Token: repToken}, github.Options{APIURL: srv.URL()})
	if err != nil {
		t.Fatal(err)
	}
	app := appClient(t, srv, "", appKey(t, 0), appInstallation)
	edit := func(f func(a *bot.GateAnswer)) bot.Report {
		r := gateReport(bot.GateApproved)
		a := *r.Gate
		f(&a)
		r.Gate = &a
		return r
	}
	both := gateReport(bot.GateApproved)
	both.Status = &bot.CommitStatus{Context: "countersign/web", State: "success"}
	for _, tc := range []struct {
		name   string
		c      *github.Client
		r      bot.Report
		reason string
	}{
		{"token", tokenClient, gateReport(bot.GateApproved), "only from a GitHub App installation"},
		{"state", app, gateReport("maybe"), `state "maybe" is not approved or rejected`},
		{"no run", app, edit(func(a *bot.GateAnswer) { a.Run = 0 }), "no workflow run or environment"},
		{"no environment", app, edit(func(a *bot.GateAnswer) { a.Environment = "" }), "no workflow run or environment"},
		{"two reports", app, both, "2 of Status, Deployment, DeploymentStatus and Gate are set"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			before := len(srv.Requests())
			_, err := tc.c.Report(context.Background(), tc.r)
			if !errors.Is(err, bot.ErrChatRejected) || !strings.Contains(err.Error(), tc.reason) {
				t.Errorf("err = %v, want a refusal saying %q", err, tc.reason)
			}
			if n := len(srv.Requests()) - before; n != 0 {
				t.Errorf("%d calls made", n)
			}
		})
	}
	srv.Fail("/repos/"+repRepo+"/actions/runs/99/", 1, http.StatusBadGateway)
	if _, err := app.Report(context.Background(), gateReport(bot.GateApproved)); err == nil || errors.Is(err, bot.ErrChatRejected) {
		t.Errorf("502: %v, want an error that is retried", err)
	}
	if _, err := app.Report(context.Background(), gateReport(bot.GateApproved)); err != nil {
		t.Errorf("after the 502: %v", err)
	}
}

// TestFakeGitHub_GateReviewIsStrict: the fake's answer endpoint refuses
// what GitHub refuses.
func TestFakeGitHub_GateReviewIsStrict(t *testing.T) {
	srv := appServer(t, githubtest.Options{Token: repToken})
	srv.WaitGate(repRepo, 99, "production")
	// An installation token, as the App's client gets it.
	app := appClient(t, srv, "", appKey(t, 0), appInstallation)
	srv.WaitGate(repRepo, 98, "production")
	if _, err := app.Report(context.Background(), edit98()); err != nil {
		t.Fatal(err)
	}
	tokens := srv.IssuedTokens()
	if len(tokens) == 0 {
		t.Fatal("no installation token issued")
	}
	inst := tokens[0]
	url := srv.URL() + "repos/" + repRepo + "/actions/runs/%s/deployment_protection_rule"
	for _, tc := range []struct {
		name, cred, run, body string
		want                  int
	}{
		{"personal token", repToken, "99", `{"environment_name":"production","state":"approved"}`, http.StatusForbidden},
		{"no credentials", "", "99", `{"environment_name":"production","state":"approved"}`, http.StatusUnauthorized},
		{"not JSON", inst, "99", `environment_name=production`, http.StatusBadRequest},
		{"no environment_name", inst, "99", `{"state":"approved"}`, http.StatusUnprocessableEntity},
		{"state", inst, "99", `{"environment_name":"production","state":"success"}`, http.StatusUnprocessableEntity},
		{"unknown key", inst, "99", `{"environment_name":"production","state":"approved","reason":"x"}`, http.StatusUnprocessableEntity},
		{"another environment", inst, "99", `{"environment_name":"staging","state":"approved"}`, http.StatusUnprocessableEntity},
		{"unknown run", inst, "97", `{"environment_name":"production","state":"approved"}`, http.StatusNotFound},
		{"answered already", inst, "98", `{"environment_name":"production","state":"rejected"}`, http.StatusUnprocessableEntity},
		{"taken", inst, "99", `{"environment_name":"production","state":"rejected"}`, http.StatusNoContent},
	} {
		t.Run(tc.name, func(t *testing.T) {
			req, err := http.NewRequest(http.MethodPost, strings.Replace(url, "%s", tc.run, 1), bytes.NewBufferString(tc.body))
			if err != nil {
				t.Fatal(err)
			}
			if tc.cred != "" {
				req.Header.Set("Authorization", "token "+tc.cred)
			}
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			if resp.StatusCode != tc.want {
				t.Errorf("status %d, want %d", resp.StatusCode, tc.want)
			}
		})
	}
	if got := srv.GateReviews(); len(got) != 2 || got[1].Run != 99 || got[1].State != "rejected" || got[1].Comment != "" {
		t.Errorf("reviews = %+v", got)
	}
}

func edit98() bot.Report {
	r := gateReport(bot.GateApproved)
	a := *r.Gate
	a.Run = 98
	r.Gate = &a
	return r
}
