package web

import (
	"bytes"
	"html/template"
	"reflect"
	"sync"
)

// rowCache keeps each service's rendered overview row beside the data it
// was rendered from. A row is rendered again only when its data differs,
// so the overview of a large estate costs a comparison per unchanged
// service instead of a template execution, and never shows stale data:
// the key is the data itself, not a guess about when it changes.
type rowCache struct {
	mu   sync.Mutex
	rows map[string]renderedRow // by service name
}

type renderedRow struct {
	data serviceRow
	html template.HTML
}

// render returns rows as HTML, reusing what it rendered for equal data
// and forgetting services that are no longer listed.
func (c *rowCache) render(t *template.Template, rows []serviceRow) ([]template.HTML, error) {
	c.mu.Lock()
	old := c.rows // never written to once published
	c.mu.Unlock()
	fresh := make(map[string]renderedRow, len(rows))
	out := make([]template.HTML, len(rows))
	var buf bytes.Buffer
	for i, r := range rows {
		cached, ok := old[r.Name]
		if !ok || !reflect.DeepEqual(cached.data, r) {
			buf.Reset()
			if err := t.ExecuteTemplate(&buf, "serviceRow", r); err != nil {
				return nil, err
			}
			cached = renderedRow{data: r, html: template.HTML(buf.String())}
		}
		fresh[r.Name] = cached
		out[i] = cached.html
	}
	c.mu.Lock()
	c.rows = fresh
	c.mu.Unlock()
	return out, nil
}
