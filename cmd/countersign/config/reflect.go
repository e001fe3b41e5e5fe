package config

import (
	"encoding"
	"reflect"
	"strings"

	"gopkg.in/yaml.v3"
)

// decodeFields decodes the mapping o into the struct *ptr by its yaml
// field tags, strictly and reporting every problem with its path. It is
// how the policies package's types, which the config loader does not own,
// are decoded without yaml.v3's stop-at-the-first-error behaviour.
func (d *decoder) decodeFields(o *object, ptr any) {
	d.fields(o, reflect.ValueOf(ptr).Elem())
}

func (d *decoder) fields(o *object, v reflect.Value) {
	t := v.Type()
	for i := range t.NumField() {
		f := t.Field(i)
		if !f.IsExported() {
			continue
		}
		name, _, _ := strings.Cut(f.Tag.Get("yaml"), ",")
		switch name {
		case "-":
			continue
		case "":
			name = strings.ToLower(f.Name)
		}
		if n := o.get(name); n != nil {
			d.value(n, o.sub(name), v.Field(i))
		}
	}
}

// value decodes n into v, which must be settable. Null leaves v as it is.
func (d *decoder) value(n *yaml.Node, path string, v reflect.Value) {
	n = deref(n)
	if isNull(n) {
		return
	}
	if u, ok := v.Addr().Interface().(encoding.TextUnmarshaler); ok {
		if n.Kind != yaml.ScalarNode {
			d.add(n.Line, path, "want a string, got %s", describe(n))
		} else if err := u.UnmarshalText([]byte(n.Value)); err != nil {
			d.add(n.Line, path, "%v", err)
		}
		return
	}
	switch v.Kind() {
	case reflect.Pointer:
		e := reflect.New(v.Type().Elem())
		d.value(n, path, e.Elem())
		v.Set(e)
	case reflect.Struct:
		o := d.object(n, path)
		d.fields(o, v)
		o.done()
	case reflect.Slice:
		items := d.list(n, path)
		if items == nil {
			return
		}
		s := reflect.MakeSlice(v.Type(), len(items), len(items))
		for i, it := range items {
			d.lines[item(path, i)] = it.Line
			d.value(it, item(path, i), s.Index(i))
		}
		v.Set(s)
	case reflect.Map:
		if v.Type().Key().Kind() != reflect.String {
			d.add(n.Line, path, "cannot decode into %s", v.Type())
			return
		}
		o := d.object(n, path)
		m := reflect.MakeMap(v.Type())
		for _, k := range o.entries() {
			e := reflect.New(v.Type().Elem()).Elem()
			d.value(o.get(k), o.sub(k), e)
			m.SetMapIndex(reflect.ValueOf(k).Convert(v.Type().Key()), e)
		}
		v.Set(m)
	case reflect.String:
		v.SetString(d.str(n, path))
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		var x int64
		if n.Kind != yaml.ScalarNode || n.ShortTag() != "!!int" || n.Decode(&x) != nil || v.OverflowInt(x) {
			d.add(n.Line, path, "want an integer, got %s", quoteScalar(n))
			return
		}
		v.SetInt(x)
	case reflect.Bool:
		v.SetBool(d.bool(n, path))
	default:
		// A type the policies package added that this decoder does not
		// know: say so rather than guess.
		d.add(n.Line, path, "cannot decode into %s", v.Type())
	}
}
