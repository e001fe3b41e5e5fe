package main

import (
	"bytes"
	"os"
	"path/filepath"
	"testing"

	"github.com/countersign/countersign/cmd/countersign/config"
)

func TestRunWritesSchema(t *testing.T) {
	out := filepath.Join(t.TempDir(), "schema.json")
	if err := run(out); err != nil {
		t.Fatal(err)
	}
	got, err := os.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	want, err := config.Schema()
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, want) {
		t.Error("run wrote something other than config.Schema()")
	}
}

func TestRunUnwritable(t *testing.T) {
	err := run(filepath.Join(t.TempDir(), "no-such-dir", "schema.json"))
	if err == nil {
		t.Fatal("want an error writing into a missing directory")
	}
}
