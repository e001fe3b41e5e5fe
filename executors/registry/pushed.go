package registry

import (
	"bytes"
	"context"
	"fmt"

	"github.com/google/go-containerregistry/pkg/authn"
	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/remote"
)

// Auth returns the credentials the Resolver sends to the registry of repo
// ("host/path"): the configured Credential for its host, else the
// Keychain's, else none (the zero AuthConfig). It is for a Docker Engine
// that pushes there on the bot's behalf (executors/build), so that the
// engine and the Resolver always speak to a registry as the same user.
func (r *Resolver) Auth(ctx context.Context, repo string) (authn.AuthConfig, error) {
	ref, err := name.NewRepository(repo, r.nameOptions(repo)...)
	if err != nil {
		return authn.AuthConfig{}, fmt.Errorf("credentials for %q: bad repository (want host/path, without tag or digest)", repo)
	}
	a, err := authn.Resolve(ctx, r.keychain(), ref)
	if err != nil {
		return authn.AuthConfig{}, fmt.Errorf("credentials for %s: %s", ref.RegistryStr(), r.scrub(err.Error()))
	}
	cfg, err := authn.Authorization(ctx, a)
	if err != nil {
		return authn.AuthConfig{}, fmt.Errorf("credentials for %s: %s", ref.RegistryStr(), r.scrub(err.Error()))
	}
	return *cfg, nil
}

// Size returns the bytes the image ref, an exact "repo@sha256:…", takes
// in its registry: its manifest, config and layers as stored
// (compressed). For an index it is the index and the manifests it lists,
// not their layers. It fetches the manifest, which is checked against the
// digest, so a nil error also confirms that ref is there. Errors are
// those of Check.
func (r *Resolver) Size(ctx context.Context, ref string) (int64, error) {
	op := "size of " + ref
	repo, digest, err := SplitDigest(ref)
	if err != nil {
		return 0, fmt.Errorf("size: %w", err)
	}
	d, err := name.NewDigest(repo+"@"+digest, r.nameOptions(repo)...)
	if err != nil {
		return 0, fmt.Errorf("%s: %w: %v", op, ErrNotDigest, err)
	}
	desc, err := remote.Get(d,
		remote.WithContext(ctx),
		remote.WithAuthFromKeychain(r.keychain()),
		remote.WithUserAgent(userAgent),
	)
	if err != nil {
		return 0, r.fail(ctx, op, d.Context().RegistryStr(), err)
	}
	total := desc.Size
	if desc.MediaType.IsIndex() {
		idx, err := v1.ParseIndexManifest(bytes.NewReader(desc.Manifest))
		if err != nil {
			return 0, fmt.Errorf("%s: parse index: %w", op, err)
		}
		for _, m := range idx.Manifests {
			total += m.Size
		}
		return total, nil
	}
	m, err := v1.ParseManifest(bytes.NewReader(desc.Manifest))
	if err != nil {
		return 0, fmt.Errorf("%s: parse manifest: %w", op, err)
	}
	total += m.Config.Size
	for _, l := range m.Layers {
		total += l.Size
	}
	return total, nil
}
