package identity

import (
	"context"
	"fmt"
	"log/slog"
)

// LogSender is the demo Sender: it writes one-time codes to the log instead of sending an
// SMS, marked "[DEMO ONLY]" so nobody mistakes it for a production set-up.
type LogSender struct {
	Logger *slog.Logger // nil: slog.Default()
}

// SendCode implements Sender.
func (l LogSender) SendCode(ctx context.Context, phone, code string, purpose Purpose) error {
	lg := l.Logger
	if lg == nil {
		lg = slog.Default()
	}
	lg.WarnContext(ctx, fmt.Sprintf("[DEMO ONLY] one-time code for %s: %s", MaskPhone(phone), code),
		"purpose", string(purpose), "note", "no SMS was sent; configure an SMS gateway for production")
	return nil
}
