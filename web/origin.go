package web

import "net/http"

// sameOrigin refuses a POST that another site's page makes a browser
// send: signing it in with the other site's token (login CSRF), or out.
// A browser says where the form came from in Sec-Fetch-Site, or an old
// one in Origin (checked against Host); a script sends neither and is let
// through, as it carries no one else's cookie. The refusal is audited.
func (s *Server) sameOrigin(next http.Handler) http.Handler {
	p := http.NewCrossOriginProtection()
	p.SetDenyHandler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s.guard.audit(r, r.Method+" "+r.URL.Path+" from another site's page")
		http.Error(w, "forbidden: this form must be sent from this site's own page", http.StatusForbidden)
	}))
	return p.Handler(next)
}
