package countersign

// ShortSHA is a commit SHA as people read it: its first 7 characters
// (all of it if shorter).
func ShortSHA(sha string) string { return prefix(sha, 7) }

// ShortHash is a hash or digest as people read it in messages: its first
// 12 characters (all of it if shorter).
func ShortHash(h string) string { return prefix(h, 12) }

func prefix(s string, n int) string {
	if len(s) > n {
		return s[:n]
	}
	return s
}
