package build

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"path"
	"sort"
	"strings"
	"time"
)

// entry is one file of a test repository.
type entry struct {
	data []byte
	exec bool   // mode 0775 rather than 0664, as git archive writes them
	link string // a symlink to this, if set
}

// tree is a test repository's files by path.
type tree map[string]entry

// files makes a tree of plain files.
func files(kv ...string) tree {
	t := tree{}
	for i := 0; i+1 < len(kv); i += 2 {
		t[kv[i]] = entry{data: []byte(kv[i+1])}
	}
	return t
}

// commitTime is the time of every entry, as git archive uses the commit's.
var commitTime = time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)

// githubTarball writes t the way GitHub's tarball API serves a commit
// (git archive, gzip'd): a pax global header holding the commit, then
// every entry under "top/", directories before what they hold.
func githubTarball(top, sha string, t tree) ([]byte, error) {
	var buf bytes.Buffer
	zw := gzip.NewWriter(&buf)
	tw := tar.NewWriter(zw)
	if err := tw.WriteHeader(&tar.Header{Typeflag: tar.TypeXGlobalHeader, Name: "pax_global_header", PAXRecords: map[string]string{"comment": sha}, Format: tar.FormatPAX}); err != nil {
		return nil, err
	}
	dirs := map[string]bool{"": true}
	var names []string
	for p := range t {
		names = append(names, p)
		for d := path.Dir(p); d != "."; d = path.Dir(d) {
			dirs[d] = true
		}
	}
	for d := range dirs {
		names = append(names, d+"/")
	}
	sort.Strings(names)
	for _, p := range names {
		hdr := &tar.Header{Name: top + "/" + strings.TrimPrefix(p, "/"), ModTime: commitTime, Mode: 0o664, Typeflag: tar.TypeReg}
		e := t[p]
		switch {
		case strings.HasSuffix(p, "/"):
			hdr.Typeflag, hdr.Mode = tar.TypeDir, 0o775
		case e.link != "":
			hdr.Typeflag, hdr.Linkname, hdr.Mode = tar.TypeSymlink, e.link, 0o777
		default:
			hdr.Size = int64(len(e.data))
			if e.exec {
				hdr.Mode = 0o775
			}
		}
		if err := tw.WriteHeader(hdr); err != nil {
			return nil, err
		}
		if _, err := tw.Write(e.data); err != nil {
			return nil, err
		}
	}
	if err := tw.Close(); err != nil {
		return nil, err
	}
	if err := zw.Close(); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}
