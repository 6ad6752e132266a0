package uscc_test

import (
	"errors"
	"fmt"

	"github.com/elicense/elicense/internal/uscc"
)

func ExampleCheck() {
	err := uscc.Check("91350203m0001qay9b")
	var p *uscc.Problem
	if errors.As(err, &p) {
		fmt.Println(p.Reason, p.Position)
		fmt.Println(p.MessageZH())
		fmt.Println(p.MessageEN())
	}
	// Output:
	// check18 18
	// 第18位校验码错误：应为 9，实际为 B
	// wrong check character at position 18: expected 9, got B
}

func ExampleValidator() {
	v := uscc.Validator{Allow: uscc.NewAllowList("91350203M0001QAY9B")}
	for _, code := range []string{" 91350203m0001qay9b", "140000100028286", "91350203M0001QAY9I"} {
		n, kind, err := v.Validate(code)
		fmt.Printf("%q %v %v\n", n, kind, err)
	}
	// Output:
	// "91350203M0001QAY9B" uscc <nil>
	// "140000100028286" regno <nil>
	// "" unknown uscc: invalid character "I" at position 18: only digits and capital letters other than I, O, S, V and Z are allowed here
}

func ExampleGenerate() {
	code, err := uscc.Generate('9', '1', "330106", "67395965")
	fmt.Println(code, err)
	// Output: 91330106673959654P <nil>
}
