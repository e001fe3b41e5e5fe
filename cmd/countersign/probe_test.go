package main

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"reflect"
	"testing"
	"time"

	"github.com/countersign/countersign/bot"
	"github.com/countersign/countersign/cmd/countersign/config"
)

func TestHTTPProber_Statuses(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/ok":
			w.WriteHeader(http.StatusOK)
		case "/broken":
			w.WriteHeader(http.StatusInternalServerError)
		case "/moved":
			http.Redirect(w, r, "/ok", http.StatusFound)
		case "/hang":
			<-r.Context().Done()
		}
	}))
	defer srv.Close()
	for _, tc := range []struct {
		path string
		want int
	}{
		{"/ok", 200},
		{"/broken", 500},
		{"/moved", 302}, // a redirect is the answer, not followed
	} {
		t.Run(tc.path, func(t *testing.T) {
			got, err := httpProber{}.Probe(context.Background(), srv.URL+tc.path)
			if err != nil || got != tc.want {
				t.Errorf("Probe = %d, %v; want %d", got, err, tc.want)
			}
		})
	}
	t.Run("no answer in time", func(t *testing.T) {
		ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
		defer cancel()
		if _, err := (httpProber{}).Probe(ctx, srv.URL+"/hang"); !errors.Is(err, context.DeadlineExceeded) {
			t.Errorf("err = %v, want the deadline", err)
		}
	})
	t.Run("nobody listening", func(t *testing.T) {
		dead := httptest.NewServer(http.NotFoundHandler())
		dead.Close()
		if _, err := (httpProber{}).Probe(context.Background(), dead.URL); err == nil {
			t.Error("no error from a closed server")
		}
	})
}

func TestBotVerify(t *testing.T) {
	for _, tc := range []struct {
		in   *config.Verify
		want *bot.Verify
	}{
		{nil, nil},
		{&config.Verify{URL: "http://x/", Status: 204, For: time.Minute, Every: time.Second, OnFailure: "rollback"},
			&bot.Verify{URL: "http://x/", Status: 204, For: time.Minute, Every: time.Second, Rollback: true}},
		{&config.Verify{URL: "http://x/", Status: 200, For: time.Minute, Every: time.Second, OnFailure: "alert"},
			&bot.Verify{URL: "http://x/", Status: 200, For: time.Minute, Every: time.Second}},
	} {
		if got := botVerify(tc.in); !reflect.DeepEqual(got, tc.want) {
			t.Errorf("botVerify(%+v) = %+v, want %+v", tc.in, got, tc.want)
		}
	}
}
