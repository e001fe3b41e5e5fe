package strictyaml

import (
	"encoding"
	"reflect"
	"strings"

	"gopkg.in/yaml.v3"
)

// Fields decodes the mapping o into the struct *ptr by its yaml field
// tags, strictly and reporting every problem with its path: how types a
// caller does not own (another package's) are decoded without yaml.v3's
// stop-at-the-first-error behaviour. It does not call o.Done. Fields of
// struct type are decoded the same way, and their mappings Done; a field
// of a type it does not know is a problem, not a guess.
func (d *Decoder) Fields(o *Mapping, ptr any) {
	d.fields(o, reflect.ValueOf(ptr).Elem())
}

func (d *Decoder) fields(o *Mapping, v reflect.Value) {
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
		if n := o.Get(name); n != nil {
			d.value(n, o.Sub(name), v.Field(i))
		}
	}
}

// value decodes n into v, which must be settable. Null leaves v as it is.
func (d *Decoder) value(n *yaml.Node, path string, v reflect.Value) {
	n = Deref(n)
	if IsNull(n) {
		return
	}
	if u, ok := v.Addr().Interface().(encoding.TextUnmarshaler); ok {
		if n.Kind != yaml.ScalarNode {
			d.Add(n.Line, path, "want a string, got %s", Describe(n))
		} else if err := u.UnmarshalText([]byte(n.Value)); err != nil {
			d.Add(n.Line, path, "%v", err)
		}
		return
	}
	switch v.Kind() {
	case reflect.Pointer:
		e := reflect.New(v.Type().Elem())
		d.value(n, path, e.Elem())
		v.Set(e)
	case reflect.Struct:
		o := d.Mapping(n, path)
		d.fields(o, v)
		o.Done()
	case reflect.Slice:
		items := d.List(n, path)
		if items == nil {
			return
		}
		s := reflect.MakeSlice(v.Type(), len(items), len(items))
		for i, it := range items {
			d.lines[Item(path, i)] = it.Line
			d.value(it, Item(path, i), s.Index(i))
		}
		v.Set(s)
	case reflect.Map:
		if v.Type().Key().Kind() != reflect.String {
			d.Add(n.Line, path, "cannot decode into %s", v.Type())
			return
		}
		o := d.Mapping(n, path)
		m := reflect.MakeMap(v.Type())
		for _, k := range o.Entries() {
			e := reflect.New(v.Type().Elem()).Elem()
			d.value(o.Get(k), o.Sub(k), e)
			m.SetMapIndex(reflect.ValueOf(k).Convert(v.Type().Key()), e)
		}
		v.Set(m)
	case reflect.String:
		v.SetString(d.Str(n, path))
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		var x int64
		if n.Kind != yaml.ScalarNode || n.ShortTag() != "!!int" || n.Decode(&x) != nil || v.OverflowInt(x) {
			d.Add(n.Line, path, "want an integer, got %s", quoteScalar(n))
			return
		}
		v.SetInt(x)
	case reflect.Bool:
		v.SetBool(d.Bool(n, path))
	default:
		// A type the caller's package added that this decoder does not
		// know: say so rather than guess.
		d.Add(n.Line, path, "cannot decode into %s", v.Type())
	}
}
