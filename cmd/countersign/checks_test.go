package main

import (
	"context"
	"strings"
	"testing"

	"github.com/countersign/countersign/cmd/countersign/config"
)

// The pull request keys of a service reach the bot's service.
func TestBotConfig_PullRequestChecks(t *testing.T) {
	cfg, err := config.Parse([]byte(strings.ReplaceAll(demoConfig, "{{REGISTRY}}", "127.0.0.1:5000")), t.TempDir(), func(string) (string, bool) { return "", false })
	if err != nil {
		t.Fatal(err)
	}
	cfg.Services[0].PullRequests, cfg.Services[0].PullRequestsFromForks, cfg.Services[0].PullRequestsChannel = true, true, "C0PRS"
	bc, x, err := botConfig(context.Background(), cfg, modeSimulated, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer x.Close()
	c := bc.Services[0].Checks
	if !c.PullRequests || !c.Forks || c.Channel != "C0PRS" {
		t.Errorf("checks of %s: %+v", bc.Services[0].Name, c)
	}
	if c := bc.Services[1].Checks; c.PullRequests || c.Forks || c.Channel != "" {
		t.Errorf("checks of %s, which sets none: %+v", bc.Services[1].Name, c)
	}
}

// A build-only service gets no executor: nothing can deploy it.
func TestBotConfig_BuildOnly(t *testing.T) {
	cfg, err := config.Parse([]byte(strings.ReplaceAll(demoConfig, "{{REGISTRY}}", "127.0.0.1:5000")), t.TempDir(), func(string) (string, bool) { return "", false })
	if err != nil {
		t.Fatal(err)
	}
	cfg.Services[0].Kind, cfg.Services[0].Engine, cfg.Services[0].SwarmService = config.KindBuild, "", ""
	bc, x, err := botConfig(context.Background(), cfg, modeSimulated, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer x.Close()
	if s := bc.Services[0]; !s.BuildOnly() || s.Executor != nil {
		t.Errorf("build-only service: kind %s, executor %T", s.Kind, s.Executor)
	}
	if s := bc.Services[1]; s.BuildOnly() || s.Executor == nil {
		t.Errorf("%s: kind %s, executor %T", s.Name, s.Kind, s.Executor)
	}
}
