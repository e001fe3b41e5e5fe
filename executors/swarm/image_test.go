package swarm

import (
	"strings"
	"testing"
)

func TestParseImage(t *testing.T) {
	d := "sha256:" + strings.Repeat("0a", 32)
	for _, tc := range []struct {
		in      string
		want    imageRef
		wantErr bool
	}{
		{in: "nginx", want: imageRef{Name: "nginx"}},
		{in: "nginx:1.25", want: imageRef{Name: "nginx", Tag: "1.25"}},
		{in: "127.0.0.1:5000/app", want: imageRef{Name: "127.0.0.1:5000/app"}},
		{in: "127.0.0.1:5000/app:v1", want: imageRef{Name: "127.0.0.1:5000/app", Tag: "v1"}},
		{in: "127.0.0.1:5000/app@" + d, want: imageRef{Name: "127.0.0.1:5000/app", Digest: d}},
		{in: "ocurrent/opam:live@" + d, want: imageRef{Name: "ocurrent/opam", Tag: "live", Digest: d}},
		{in: "", wantErr: true},
		{in: "app@sha256:abc", wantErr: true},
		{in: "app:", wantErr: true},
		{in: "/app", wantErr: true},
		{in: "a//b", wantErr: true},
		{in: "app @" + d, wantErr: true},
	} {
		t.Run(tc.in, func(t *testing.T) {
			got, err := parseImage(tc.in)
			if (err != nil) != tc.wantErr {
				t.Fatalf("parseImage(%q) error = %v, want error %v", tc.in, err, tc.wantErr)
			}
			if err == nil && (got != tc.want || got.String() != tc.in) {
				t.Errorf("parseImage(%q) = %+v (%s), want %+v", tc.in, got, got, tc.want)
			}
		})
	}
}

func TestSameImage(t *testing.T) {
	d1, d2 := "sha256:"+strings.Repeat("1", 64), "sha256:"+strings.Repeat("2", 64)
	for _, tc := range []struct {
		a, b string
		want bool
	}{
		{"reg/app@" + d1, "reg/app@" + d1, true},
		{"reg/app:live@" + d1, "reg/app@" + d1, true},
		{"docker.io/library/nginx@" + d1, "nginx@" + d1, true},
		{"docker.io/ocurrent/opam@" + d1, "ocurrent/opam@" + d1, true},
		{"reg/app@" + d1, "reg/app@" + d2, false},
		{"reg/app@" + d1, "reg/other@" + d1, false},
		{"reg/app:v1", "reg/app:v1", true},
		{"reg/app:v1", "reg/app@" + d1, false},
	} {
		if got := sameImage(tc.a, tc.b); got != tc.want {
			t.Errorf("sameImage(%q, %q) = %v, want %v", tc.a, tc.b, got, tc.want)
		}
	}
}
