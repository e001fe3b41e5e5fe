package albatross

import (
	"context"
	"errors"
	"strings"
	"testing"
)

func TestExecutor_CheckImage(t *testing.T) {
	t.Parallel()
	h := startHost(t, nil)
	_, ims := startRegistry(t, binary(1), nil, []byte{})
	e := newExecutor(t, h.host(), www(), Options{})
	ctx := context.Background()
	if err := e.CheckImage(ctx, ims[0].Ref); err != nil {
		t.Errorf("image with the unikernel: %v", err)
	}
	for i, want := range map[int]string{1: "no unikernel.hvt in the image", 2: "unikernel.hvt in the image is empty"} {
		err := e.CheckImage(ctx, ims[i].Ref)
		if !errors.Is(err, ErrBinaryNotFound) || !strings.Contains(err.Error(), want) {
			t.Errorf("image %d: %v, want ErrBinaryNotFound saying %q", i, err, want)
		}
	}
	if got := h.calls(t, ""); len(got) != 0 {
		t.Errorf("checking an image ran commands on the host: %q", got)
	}
}
