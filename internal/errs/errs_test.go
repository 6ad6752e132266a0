package errs

import (
	"errors"
	"fmt"
	"testing"
)

func TestKindAndMessages(t *testing.T) {
	e := Invalidf("face.name", "名称不能为空%s", "name is required%s", "!")
	wrapped := fmt.Errorf("license: issue: %w", e)
	if KindOf(wrapped) != Invalid || !Is(wrapped, Invalid) || Is(wrapped, NotFound) {
		t.Fatalf("kind lost through wrapping: %v", KindOf(wrapped))
	}
	if got := As(wrapped).Message("en"); got != "name is required!" {
		t.Errorf("en message = %q", got)
	}
	if got := As(wrapped).Message("zh"); got != "名称不能为空!" {
		t.Errorf("zh message = %q", got)
	}
	if KindOf(errors.New("boom")) != Internal {
		t.Error("plain errors must be Internal")
	}
	if Invalid.String() != "invalid" || Kind(99).String() != "internal" {
		t.Error("kind codes")
	}
}

func TestWithFieldAndList(t *testing.T) {
	e := WithField(Invalidf("code", "错", "wrong"), "row 12")
	if As(e).Field != "row 12.code" {
		t.Errorf("field = %q", As(e).Field)
	}
	var l List
	if l.Err() != nil {
		t.Error("empty list must be nil")
	}
	l = append(l, Invalidf("a", "甲", "a"), Invalidf("b", "乙", "b"))
	err := fmt.Errorf("wrap: %w", l.Err())
	if first := As(err); first == nil || first.Field != "a" {
		t.Errorf("As(list) = %v", first)
	}
	if l.Error() != "a: a; b: b" {
		t.Errorf("list message %q", l.Error())
	}
}
