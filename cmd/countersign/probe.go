package main

import (
	"context"
	"fmt"
	"io"
	"net/http"

	"github.com/countersign/countersign/bot"
	"github.com/countersign/countersign/cmd/countersign/config"
)

// httpProber is the bot's prober: a GET that takes the first answer as
// it is (a redirect is an answer, not followed), with the time the bot
// allows in ctx.
type httpProber struct{}

var _ bot.Prober = httpProber{}

// probeClient follows no redirects; its transport is the default one
// (proxies from the environment).
var probeClient = &http.Client{
	CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
}

// Probe returns the status url answered.
func (httpProber) Probe(ctx context.Context, url string) (int, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return 0, fmt.Errorf("probe: %w", err)
	}
	req.Header.Set("User-Agent", "countersign-verify")
	resp, err := probeClient.Do(req)
	if err != nil {
		return 0, fmt.Errorf("probe: %w", err)
	}
	defer resp.Body.Close()
	// A little of the body is read so the connection can be reused.
	_, _ = io.CopyN(io.Discard, resp.Body, 64<<10)
	return resp.StatusCode, nil
}

// botVerify is the bot's form of a service's verify key (nil: none).
func botVerify(v *config.Verify) *bot.Verify {
	if v == nil {
		return nil
	}
	return &bot.Verify{URL: v.URL, Status: v.Status, For: v.For, Every: v.Every, Rollback: v.OnFailure == config.VerifyRollback}
}
