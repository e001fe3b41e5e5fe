package github_test

import (
	"net/http"
	"sync"
	"testing"

	"github.com/countersign/countersign/bot/github"
)

// TestWebhook_SetSecret: after a swap, a delivery signed with the old
// secret is refused and one signed with the new secret is taken; an
// empty secret (removed from the config) refuses every delivery.
func TestWebhook_SetSecret(t *testing.T) {
	in := &hookIntake{}
	h, err := github.NewWebhook(hookSecret, in, github.WebhookOptions{})
	if err != nil {
		t.Fatal(err)
	}
	body := hookFixture(t, "ping.json")
	signed := func(secret, id string) *http.Request {
		r := hookRequest("", "ping", id, body)
		r.Header.Set("X-Hub-Signature-256", hookSign(secret, body))
		return r
	}
	const next = "the next secret, after a reload"
	if code, _ := hookServe(h, signed(hookSecret, "d1")); code != http.StatusOK {
		t.Fatalf("before the swap, the first secret: %d, want 200", code)
	}
	h.SetSecret(next)
	if code, _ := hookServe(h, signed(hookSecret, "d2")); code != http.StatusUnauthorized {
		t.Errorf("after the swap, the old secret: %d, want 401", code)
	}
	if code, _ := hookServe(h, signed(next, "d3")); code != http.StatusOK {
		t.Errorf("after the swap, the new secret: %d, want 200", code)
	}
	h.SetSecret("")
	for i, secret := range []string{hookSecret, next, ""} {
		if code, _ := hookServe(h, signed(secret, "e"+string(rune('0'+i)))); code != http.StatusUnauthorized {
			t.Errorf("with the secret removed, a delivery signed with %q: %d, want 401", secret, code)
		}
	}
}

// TestWebhook_SetSecretWhileServing swaps the secret while deliveries are
// verified (for -race): each delivery is verified with one secret.
func TestWebhook_SetSecretWhileServing(t *testing.T) {
	h, err := github.NewWebhook(hookSecret, &hookIntake{}, github.WebhookOptions{})
	if err != nil {
		t.Fatal(err)
	}
	body := hookFixture(t, "ping.json")
	var wg sync.WaitGroup
	for i := range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for j := range 20 {
				code, _ := hookServe(h, hookRequest("", "ping", string(rune('a'+i))+string(rune('a'+j)), body))
				if code != http.StatusOK && code != http.StatusUnauthorized {
					t.Errorf("status %d, want 200 or 401", code)
				}
			}
		}()
	}
	for i := range 50 {
		if i%2 == 0 {
			h.SetSecret("another secret")
		} else {
			h.SetSecret(hookSecret)
		}
	}
	wg.Wait()
}
