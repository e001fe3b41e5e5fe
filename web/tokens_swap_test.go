package web_test

import (
	"strings"
	"sync"
	"testing"

	"github.com/countersign/countersign/web"
)

// TestSetTokens: after a reload replaces the read tokens, a removed
// token is refused at once, as bearer and through the sessions it
// opened; a new one signs in; a token too short is refused and the
// tokens in force stay.
func TestSetTokens(t *testing.T) {
	s := newSite(t)
	res, body := s.login(oncallToken, "/")
	if res.StatusCode != 303 {
		t.Fatalf("login = %d:\n%s", res.StatusCode, body)
	}
	c := sessionCookie(t, res)
	const newToken = "a new read token for the night shift"
	if err := s.srv.SetTokens([]web.Token{{Name: "audit", Value: auditToken}, {Name: "nights", Value: newToken}}); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name, header, value string
		want                int
	}{
		{"the removed token", "Authorization", "Bearer " + oncallToken, 401},
		{"its session (sent to sign in again)", "Cookie", c.Name + "=" + c.Value, 303},
		{"the kept token", "Authorization", "Bearer " + auditToken, 200},
		{"the new token", "Authorization", "Bearer " + newToken, 200},
	} {
		if res, body := s.get("/", tc.header, tc.value); res.StatusCode != tc.want {
			t.Errorf("%s after the swap: %d, want %d:\n%s", tc.name, res.StatusCode, tc.want, body)
		}
	}
	if res, body := s.login(newToken, "/"); res.StatusCode != 303 {
		t.Errorf("sign-in with the new token = %d, want 303:\n%s", res.StatusCode, body)
	}

	err := s.srv.SetTokens([]web.Token{{Name: "short", Value: "too short"}})
	if err == nil || !strings.Contains(err.Error(), `"short"`) {
		t.Fatalf("SetTokens with a short token: %v, want it refused by name", err)
	}
	if err := s.srv.SetTokens([]web.Token{{Value: "a token with no name at all"}}); err == nil {
		t.Fatal("SetTokens with a nameless token: accepted")
	}
	if res, _ := s.get("/", "Authorization", "Bearer "+newToken); res.StatusCode != 200 {
		t.Errorf("after a refused swap the tokens in force changed: %d", res.StatusCode)
	}

	if err := s.srv.SetTokens(nil); err != nil {
		t.Fatal(err)
	}
	if res, _ := s.get("/", "Authorization", "Bearer "+auditToken); res.StatusCode != 401 {
		t.Errorf("with every token removed, the audit token: %d, want 401", res.StatusCode)
	}
}

// TestSetTokensWhileServing swaps the tokens while requests are checked
// (for -race).
func TestSetTokensWhileServing(t *testing.T) {
	s := newSite(t)
	var wg sync.WaitGroup
	for range 3 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for range 10 {
				s.get("/", "Authorization", "Bearer "+oncallToken)
			}
		}()
	}
	for i := range 30 {
		ts := []web.Token{{Name: "audit", Value: auditToken}}
		if i%2 == 0 {
			ts = append(ts, web.Token{Name: "oncall", Value: oncallToken})
		}
		if err := s.srv.SetTokens(ts); err != nil {
			t.Error(err)
		}
	}
	wg.Wait()
}
