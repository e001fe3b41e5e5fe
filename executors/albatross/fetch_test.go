package albatross

import (
	"io"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"strings"
	"testing"

	cs "github.com/countersign/countersign"
	"github.com/countersign/countersign/executors/registry"
)

// TestExecutor_RefusesTamperedLayer serves, for the image's layer, a
// valid layer of another image: the tar stream is fine and holds a
// unikernel.hvt, and only the digest check at the layer's end can tell.
// Nothing may be stored or created.
func TestExecutor_RefusesTamperedLayer(t *testing.T) {
	t.Parallel()
	h := startHost(t, nil)
	good := registry.DemoImage{Repo: "mirage/www", Tag: "good", Files: map[string][]byte{"unikernel.hvt": binary(1)}}
	evil := registry.DemoImage{Repo: "mirage/www", Tag: "evil", Files: map[string][]byte{"unikernel.hvt": binary(6)}}
	demo, err := registry.StartDemo(t.Context(), []registry.DemoImage{good, evil})
	if err != nil {
		t.Fatal(err)
	}
	defer demo.Close()
	goodImg, err := good.Image()
	if err != nil {
		t.Fatal(err)
	}
	evilImg, err := evil.Image()
	if err != nil {
		t.Fatal(err)
	}
	goodLayers, _ := goodImg.Layers()
	evilLayers, _ := evilImg.Layers()
	goodDigest, _ := goodLayers[0].Digest()
	rc, err := evilLayers[0].Compressed()
	if err != nil {
		t.Fatal(err)
	}
	evilBlob, _ := io.ReadAll(rc)
	target, _ := url.Parse("http://" + demo.URL)
	proxy := httputil.NewSingleHostReverseProxy(target)
	tampered := 0
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method == http.MethodGet && strings.HasSuffix(r.URL.Path, "/blobs/"+goodDigest.String()) {
			tampered++
			w.Write(evilBlob)
			return
		}
		proxy.ServeHTTP(w, r)
	}))
	defer srv.Close()
	manifest, _ := goodImg.Digest()
	im := testImage{Ref: strings.TrimPrefix(srv.URL, "http://") + "/mirage/www@" + manifest.String()}

	e := newExecutor(t, h.host(), www(), Options{})
	_, err, s := execute(t, e, request(cs.ActionDeploy, im))
	if err == nil || !strings.Contains(err.Error(), "verify") {
		t.Fatalf("err = %v, want a verification failure (steps:\n%s)", err, s)
	}
	if tampered == 0 {
		t.Fatal("the proxy never served the tampered layer: the test tests nothing")
	}
	if len(h.calls(t, "create")) != 0 {
		t.Error("created from a tampered image")
	}
	for _, f := range h.files(t, "www") {
		t.Errorf("file left on the host: %s", f)
	}
}
