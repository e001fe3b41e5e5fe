//go:build !race

package bodytest

const race = false
