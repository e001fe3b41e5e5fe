package main

import (
	"testing"

	"github.com/countersign/countersign/cmd/countersign/config"
)

// TestBotKinds checks that every service kind and build mode the config
// accepts reaches the bot as its typed counterpart (the same word): a
// kind added to config but not to the mapping would reach the bot as "".
func TestBotKinds(t *testing.T) {
	for _, k := range []string{config.KindSwarm, config.KindAlbatross, config.KindBuild} {
		if got := botKind(k); string(got) != k {
			t.Errorf("botKind(%q) = %q, want %q", k, got, k)
		}
	}
	for _, m := range []string{config.BuildWait, config.BuildDocker} {
		if got := botBuildMode(m); string(got) != m {
			t.Errorf("botBuildMode(%q) = %q, want %q", m, got, m)
		}
	}
	if got := botKind("kubernetes"); got != "" {
		t.Errorf("botKind of an unknown kind = %q, want \"\"", got)
	}
}
