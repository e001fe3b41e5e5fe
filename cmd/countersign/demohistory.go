package main

import (
	"github.com/countersign/countersign/executors/dryrun"
)

// demoHistory is the demo's stand-in for GitHub's compare: mirage-www's
// line from demoWWW1 to demoWWW2, so that a card shows what a push adds,
// and a deploy of the older commit is said to be a downgrade. Made-up
// commits, as are the demo's images.
func demoHistory() dryrun.History {
	return dryrun.History{"mirage/mirage-www": {
		{SHA: demoWWW1, Title: "Blog: the MirageOS 4.9 release", Login: "hannesm"},
		{SHA: "7c1d2e3f4a5b6c7d8e9f0a1b2c3d4e5f6a7b8c9d", Title: "Fix the dates of the RSS feed", Login: "talex5"},
		{SHA: "2b3c4d5e6f708192a3b4c5d6e7f8091a2b3c4d5e", Title: "Docs: how to build for Solo5 hvt", Name: "A. Contributor"},
		{SHA: "e4f5a6b7c8d9e0f1a2b3c4d5e6f7a8b9c0d1e2f3", Title: "Update the 2026 retreat page", Login: "reynir"},
		{SHA: demoWWW2, Title: "Serve the site over HTTP/2", Login: "hannesm"},
	}}
}
