package bindtest

import (
	"slices"
	"testing"
)

func TestStart(t *testing.T) {
	s := Start(t, Options{Records: []string{"seed 60 IN TXT \"hello\""}})
	if got, want := s.Query(t, "seed.example.test.", "TXT"), []string{"seed.example.test.\t60\tTXT\t\"hello\""}; !slices.Equal(got, want) {
		t.Fatalf("seed: got %q, want %q", got, want)
	}
	before := s.Serial(t)
	s.Update(t, []string{"www.example.test. A"}, []string{"www.example.test. 120 IN A 192.0.2.7"})
	if got, want := s.Query(t, "www.example.test.", "A"), []string{"www.example.test.\t120\tA\t192.0.2.7"}; !slices.Equal(got, want) {
		t.Fatalf("after update: got %q, want %q", got, want)
	}
	if after := s.Serial(t); after <= before {
		t.Errorf("serial: got %d after update, want more than %d", after, before)
	}
}
