//go:build race

package bodytest

// race: the race detector's shadow memory would swamp what is measured.
const race = true
