package main

import (
	"bytes"
	"context"
	"log/slog"
	"net"
	"os"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/countersign/countersign/bot/github"
	"github.com/countersign/countersign/bot/github/githubtest"
	"github.com/countersign/countersign/cmd/countersign/config"
)

func TestGitHubNeeds(t *testing.T) {
	cfg := &config.Config{Services: []config.Service{
		{Name: "web", Repo: "acme/web", Build: config.Build{Mode: config.BuildWait}},
		{Name: "web-docker", Repo: "Acme/Web", Build: config.Build{Mode: config.BuildDocker}},
		{Name: "api", Repo: "acme/api", Build: config.Build{Mode: config.BuildWait}},
		{Name: "static", Build: config.Build{Mode: config.BuildDocker}}, // no repo: no pushes
	}}
	want := []github.Need{
		{Repo: "acme/web", Statuses: "commit statuses", Deployments: "deployments", Contents: "tarball for build: docker"},
		{Repo: "acme/api", Statuses: "commit statuses", Deployments: "deployments"},
	}
	if got := githubNeeds(cfg, modeReal); !reflect.DeepEqual(got, want) {
		t.Errorf("real: %+v\nwant %+v", got, want)
	}
	for _, mode := range []execMode{modeDryRun, modeSimulated} {
		if got := githubNeeds(cfg, mode); got != nil {
			t.Errorf("mode %d: %+v, want nothing", mode, got)
		}
	}
}

// The scopes deploy/README.md used to ask for (repo:status,
// repo_deployment) cannot fetch a private repository's tarball: start-up
// says so instead of the first push failing.
func TestCheckGitHub(t *testing.T) {
	const token = "ghp_startupCheckTokenNeverShown"
	srv := githubtest.New(githubtest.Options{Token: token, Scopes: []string{"repo:status", "repo_deployment"},
		Repos: map[string]githubtest.Repo{"acme/web": {Private: true}, "acme/public": {}}})
	defer srv.Close()
	c, err := github.NewClient(github.Auth{Token: token}, github.Options{APIURL: srv.URL()})
	if err != nil {
		t.Fatal(err)
	}
	var logs bytes.Buffer
	log := slog.New(slog.NewTextHandler(&logs, nil))
	docker := func(repo string) *config.Config {
		return &config.Config{Services: []config.Service{{Name: "web", Repo: repo, Build: config.Build{Mode: config.BuildDocker}}}}
	}
	err = checkGitHub(context.Background(), c, githubNeeds(docker("acme/web"), modeReal), log)
	if err == nil || !strings.Contains(err.Error(), "GitHub token cannot see acme/web") || strings.Contains(err.Error(), token) {
		t.Errorf("private repo: %v", err)
	}
	if err := checkGitHub(context.Background(), c, githubNeeds(docker("acme/public"), modeReal), log); err != nil {
		t.Errorf("public repo: %v", err)
	}
	if err := checkGitHub(context.Background(), c, githubNeeds(docker("acme/web"), modeDryRun), log); err != nil {
		t.Errorf("dry run: %v", err)
	}
	srv.Fail("/repos/", 1, 503)
	if err := checkGitHub(context.Background(), c, githubNeeds(docker("acme/public"), modeReal), log); err != nil {
		t.Errorf("GitHub down: %v, want a warning only", err)
	}
	if !strings.Contains(logs.String(), "github permissions not checked") || strings.Contains(logs.String(), token) {
		t.Errorf("log:\n%s", logs.String())
	}
}

// A Slack that accepts the connection and never answers fails start-up
// after the check's timeout instead of holding it forever.
func TestNewServer_StalledSlackCheck(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	go func() {
		var held []net.Conn // read nothing, answer nothing
		defer func() {
			for _, c := range held {
				c.Close()
			}
		}()
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			held = append(held, c)
		}
	}()
	path := serveConfig(t, t.TempDir(), "http://"+ln.Addr().String()+"/api/", "")
	cfg, err := config.Load(path)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	srv, err := newServer(ctx, cfg, true, slog.New(slog.NewTextHandler(os.Stderr, nil)), serveDeps{CheckTimeout: 100 * time.Millisecond})
	if err == nil {
		srv.Close()
		t.Fatal("newServer started against a Slack that never answers")
	}
	if ctx.Err() != nil || !strings.Contains(err.Error(), "no answer") {
		t.Errorf("newServer = %v, want it to give up after the check's timeout", err)
	}
}
