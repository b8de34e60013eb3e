package apis

import (
	"fmt"
	"net/url"
	"reflect"
	"strconv"
	"strings"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/conversion"
	"k8s.io/apimachinery/pkg/runtime"
)

// addOptionConversions registers the url.Values conversions of the
// subresource options that arrive as query parameters (pods/log, exec,
// attach, portforward, proxy; nodes/proxy; services/proxy), as upstream's
// generated conversions do: each field from the parameter its JSON name
// names, the first value for a single value, every value for a list. As
// upstream's, a bool is true unless its value is "0" or "false".
func addOptionConversions(s *runtime.Scheme) error {
	for _, obj := range []any{
		&corev1.PodLogOptions{}, &corev1.PodExecOptions{}, &corev1.PodAttachOptions{},
		&corev1.PodPortForwardOptions{}, &corev1.PodProxyOptions{},
		&corev1.NodeProxyOptions{}, &corev1.ServiceProxyOptions{},
	} {
		if err := s.AddConversionFunc((*url.Values)(nil), obj, func(a, b any, _ conversion.Scope) error {
			return valuesToOptions(*a.(*url.Values), b)
		}); err != nil {
			return err
		}
	}
	return nil
}

var timeType = reflect.TypeFor[metav1.Time]()

// valuesToOptions sets the fields of the struct out points to from in.
func valuesToOptions(in url.Values, out any) error {
	v := reflect.ValueOf(out).Elem()
	t := v.Type()
	for i := range t.NumField() {
		f := t.Field(i)
		name, _, _ := strings.Cut(f.Tag.Get("json"), ",")
		if name == "" || name == "-" {
			continue // TypeMeta
		}
		vals, ok := in[name]
		if !ok || len(vals) == 0 {
			continue
		}
		if err := setField(v.Field(i), vals); err != nil {
			return fmt.Errorf("parameter %s: %w", name, err)
		}
	}
	return nil
}

func setField(fv reflect.Value, vals []string) error {
	first := vals[0]
	switch {
	case fv.Kind() == reflect.Pointer:
		p := reflect.New(fv.Type().Elem())
		if err := setField(p.Elem(), vals); err != nil {
			return err
		}
		fv.Set(p)
		return nil
	case fv.Type() == timeType:
		if first == "" {
			return nil
		}
		tm, err := time.Parse(time.RFC3339, first)
		if err != nil {
			return err
		}
		fv.Set(reflect.ValueOf(metav1.NewTime(tm)))
		return nil
	case fv.Kind() == reflect.Slice:
		s := reflect.MakeSlice(fv.Type(), len(vals), len(vals))
		for i, val := range vals {
			if err := setField(s.Index(i), []string{val}); err != nil {
				return err
			}
		}
		fv.Set(s)
		return nil
	}
	switch fv.Kind() {
	case reflect.String:
		fv.SetString(first)
	case reflect.Bool:
		fv.SetBool(first != "0" && !strings.EqualFold(first, "false"))
	case reflect.Int32, reflect.Int64, reflect.Int:
		n, err := strconv.ParseInt(first, 10, fv.Type().Bits())
		if err != nil {
			return err
		}
		fv.SetInt(n)
	default:
		return fmt.Errorf("unsupported field type %s", fv.Type())
	}
	return nil
}
