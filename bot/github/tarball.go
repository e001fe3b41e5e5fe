package github

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"

	gh "github.com/google/go-github/v60/github"
)

// Tarball streams the gzipped tar archive of repo ("owner/name") at the
// full commit sha, as GitHub builds it (one top directory,
// "owner-name-<short sha>/"). It asks GET /repos/{o}/{r}/tarball/{sha}
// for the short-lived download link GitHub redirects to, then fetches
// that: with credentials only when the link is on the API host (GitHub
// Enterprise), without them elsewhere (codeload.github.com). Only ctx
// bounds the download, not Options.HTTPClient's Timeout. The caller must
// close the reader.
//
// Errors getting the link are classified as in Report (a missing repo
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
	link, resp, err := c.gh.Repositories.GetArchiveLink(ctx, owner, name, gh.Tarball, &gh.RepositoryContentGetOptions{Ref: sha}, 3)
	if err != nil {
		return nil, fmt.Errorf("get tarball link of %s@%s: %w", repo, repShort(sha), repClassify(err, resp))
	}
	if !link.IsAbs() && resp != nil && resp.Request != nil {
		link = resp.Request.URL.ResolveReference(link)
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, link.String(), nil)
	if err != nil {
		return nil, fmt.Errorf("download tarball of %s@%s from %s: %w", repo, repShort(sha), tarRedact(link), err)
	}
	// c.download's transport adds credentials for the API host only.
	res, err := c.download.Do(req)
	if err != nil {
		return nil, fmt.Errorf("download tarball of %s@%s from %s: %w", repo, repShort(sha), tarRedact(link), tarStripURL(err))
	}
	if res.StatusCode != http.StatusOK {
		_, _ = io.CopyN(io.Discard, res.Body, 4<<10) // lets the connection be reused
		res.Body.Close()
		return nil, fmt.Errorf("download tarball of %s@%s from %s: %s", repo, repShort(sha), tarRedact(link), res.Status)
	}
	return res.Body, nil
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
