package sshclient_test

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	cs "github.com/countersign/countersign"
	"github.com/countersign/countersign/executors/sshclient"
	"github.com/countersign/countersign/executors/sshclient/sshdtest"
	"golang.org/x/crypto/ssh"
)

func TestDial_RunsCommandOnKnownHost(t *testing.T) {
	s := sshdtest.Start(t, sshdtest.Options{})
	c, err := sshclient.Dial(context.Background(), sshclient.Config{Address: s.Addr, User: s.User, Key: s.ClientKey, KnownHosts: s.KnownHosts})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	sess, err := c.NewSession()
	if err != nil {
		t.Fatal(err)
	}
	defer sess.Close()
	out, err := sess.Output("echo hello")
	if err != nil || string(out) != "hello\n" {
		t.Fatalf("echo = %q, %v", out, err)
	}
}

func TestDial_Refuses(t *testing.T) {
	s := sshdtest.Start(t, sshdtest.Options{})
	otherKey, otherPEM := sshdtest.NewKey(t)
	empty := filepath.Join(t.TempDir(), "empty_known_hosts")
	os.WriteFile(empty, nil, 0o600)
	fp := ssh.FingerprintSHA256(s.HostKey)
	for _, tc := range []struct {
		name    string
		cfg     sshclient.Config
		wantErr error
		want    []string
	}{
		{"unknown host", sshclient.Config{Address: s.Addr, User: s.User, Key: s.ClientKey, KnownHosts: empty},
			sshclient.ErrUnknownHost, []string{fp, "not in"}},
		{"changed key", sshclient.Config{Address: s.Addr, User: s.User, Key: s.ClientKey, KnownHosts: s.KnownHostsWith(t, "wrong", otherKey)},
			sshclient.ErrHostKeyChanged, []string{fp, "different key"}},
		{"wrong client key", sshclient.Config{Address: s.Addr, User: s.User, Key: cs.NewSecret(string(otherPEM)), KnownHosts: s.KnownHosts},
			sshclient.ErrAuth, nil},
		{"no known_hosts", sshclient.Config{Address: s.Addr, User: s.User, Key: s.ClientKey},
			sshclient.ErrConfig, []string{"known_hosts"}},
		{"bad key", sshclient.Config{Address: s.Addr, User: s.User, Key: cs.NewSecret("not a key"), KnownHosts: s.KnownHosts},
			sshclient.ErrConfig, []string{"cannot be parsed"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c, err := sshclient.Dial(context.Background(), tc.cfg)
			if err == nil {
				c.Close()
				t.Fatal("connected")
			}
			if !errors.Is(err, tc.wantErr) {
				t.Errorf("err = %v, want %v", err, tc.wantErr)
			}
			for _, w := range tc.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("err %q lacks %q", err, w)
				}
			}
			if strings.Contains(err.Error(), "PRIVATE KEY") {
				t.Error("the error shows key material")
			}
		})
	}
}

func TestDial_Unreachable(t *testing.T) {
	kh := filepath.Join(t.TempDir(), "kh")
	os.WriteFile(kh, nil, 0o600)
	_, key := sshdtest.NewKey(t)
	_, err := sshclient.Dial(context.Background(), sshclient.Config{Address: "127.0.0.1:1", User: "x", Key: cs.NewSecret(string(key)), KnownHosts: kh})
	if err == nil || !strings.Contains(err.Error(), "127.0.0.1:1: connect") {
		t.Errorf("err = %v", err)
	}
}
