package github

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"time"

	gh "github.com/google/go-github/v60/github"
)

// Tarball streams the gzipped tar archive of repo ("owner/name") at the
// full commit sha, as GitHub builds it (one top directory,
// "owner-name-<short sha>/"). It asks GET /repos/{o}/{r}/tarball/{sha},
// which GitHub answers with a 302 to a short-lived download link or, as
// it has been seen to for App installation tokens, with 200 and the
// archive itself; go-github v60's GetArchiveLink takes only the 302
// (go-github issue 3171), so the request is ours. The link is followed
// with credentials only when it is on the API host (GitHub Enterprise),
// without them elsewhere (codeload.github.com). The answer's headers
// must come within the API timeout (Options.HTTPClient's Timeout,
// DefaultTimeout when that is zero); the archive itself is bounded by
// ctx only. The caller must close the reader.
//
// Errors of the API request are classified as in Report (a missing repo
// or commit matches bot.ErrChatRejected); download errors are plain (a
// fresh link may work) and never show the link's query, which holds a
// token.
func (c *Client) Tarball(ctx context.Context, repo, sha string) (io.ReadCloser, error) {
	owner, name, err := repSplit(repo)
	if err != nil {
		return nil, fmt.Errorf("get tarball: %w", err)
	}
	if !repSHARE.MatchString(sha) {
		return nil, repRejectf("get tarball of %s: %q is not a full commit SHA", repo, sha)
	}
	req, err := c.gh.NewRequest(http.MethodGet, fmt.Sprintf("repos/%s/%s/tarball/%s", owner, name, sha), nil)
	if err != nil {
		return nil, fmt.Errorf("get tarball of %s@%s: %w", repo, repShort(sha), err)
	}
	res, err := tarDo(ctx, c.download, req, c.timeout)
	if err != nil {
		return nil, fmt.Errorf("get tarball of %s@%s: %w", repo, repShort(sha), tarStripURL(err))
	}
	if c.isAPI(res.Request.URL) {
		// GitHub's own answer: the archive, or an error to classify.
		if res.StatusCode == http.StatusOK {
			return res.Body, nil
		}
		defer res.Body.Close()
		err := gh.CheckResponse(res)
		if err == nil {
			err = fmt.Errorf("unexpected status %s", res.Status)
		}
		return nil, fmt.Errorf("get tarball link of %s@%s: %w", repo, repShort(sha), repClassify(err, &gh.Response{Response: res}))
	}
	if res.StatusCode != http.StatusOK {
		_, _ = io.CopyN(io.Discard, res.Body, 4<<10) // lets the connection be reused
		res.Body.Close()
		return nil, fmt.Errorf("download tarball of %s@%s from %s: %s", repo, repShort(sha), tarRedact(res.Request.URL), res.Status)
	}
	return res.Body, nil
}

// isAPI reports whether u is under the REST API base, as opposed to a
// download link (codeload, or /_codeload/ on an Enterprise host).
func (c *Client) isAPI(u *url.URL) bool {
	return repHostKey(u) == repHostKey(c.api) && strings.HasPrefix(u.Path, c.api.Path)
}

// tarDo sends req with hc, following redirects, and gives up when the
// answer's headers have not come within wait; once they have, only ctx
// bounds the body. The response body, when there is one, must be closed.
func tarDo(ctx context.Context, hc *http.Client, req *http.Request, wait time.Duration) (*http.Response, error) {
	ctx, cancel := context.WithCancelCause(ctx)
	timer := time.AfterFunc(wait, func() {
		cancel(fmt.Errorf("no answer within %s: %w", wait, context.DeadlineExceeded))
	})
	res, err := hc.Do(req.WithContext(ctx))
	if !timer.Stop() && err == nil {
		// The timer fired as the headers came: the body is cut off.
		res.Body.Close()
		err = context.Cause(ctx)
	}
	if err != nil {
		if cause := context.Cause(ctx); cause != nil && !errors.Is(err, cause) {
			err = fmt.Errorf("%w: %w", tarStripURL(err), cause)
		}
		cancel(nil)
		return nil, err
	}
	res.Body = &tarBody{ReadCloser: res.Body, cancel: func() { cancel(nil) }}
	return res, nil
}

// tarBody releases the request's context when the archive is closed.
type tarBody struct {
	io.ReadCloser
	cancel func()
}

func (b *tarBody) Close() error {
	err := b.ReadCloser.Close()
	b.cancel()
	return err
}

// tarRedact shows a download link without its query (codeload's token).
func tarRedact(u *url.URL) string {
	r := url.URL{Scheme: u.Scheme, Host: u.Host, Path: u.Path}
	return r.String()
}

// tarStripURL drops the URL (and its token) from an *url.Error.
func tarStripURL(err error) error {
	var ue *url.Error
	if errors.As(err, &ue) {
		return fmt.Errorf("%s: %w", ue.Op, ue.Err)
	}
	return err
}
