package albatross

import (
	"archive/tar"
	"context"
	"fmt"
	"io"

	"github.com/countersign/countersign/bot"
)

var _ bot.ImageChecker = (*Executor)(nil)

// CheckImage confirms that image holds the unikernel binary as a regular,
// non-empty file, so that nobody is asked to approve deploying an image
// that cannot run (a build that produced no unikernel.hvt). It reads the
// whole image: a layer that does not match its digest fails the check
// too. It changes nothing, also outside dry-runs.
func (e *Executor) CheckImage(ctx context.Context, image string) error {
	rc, err := e.images.Export(ctx, image)
	if err != nil {
		return fmt.Errorf("read %s: %w", image, err)
	}
	defer rc.Close()
	h, err := findBinary(tar.NewReader(rc), e.uk.Binary)
	if err != nil {
		return err
	}
	if h.Size == 0 {
		return fmt.Errorf("%w: %s in the image is empty", ErrBinaryNotFound, e.uk.Binary)
	}
	if _, err := io.Copy(io.Discard, rc); err != nil {
		return fmt.Errorf("read %s: %w", image, err)
	}
	return nil
}
