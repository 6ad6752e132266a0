package ident_test

import (
	"fmt"

	"github.com/elicense/elicense/internal/ident"
)

func ExampleNew() {
	s, err := ident.New("11100000MB0143028R001", "91330106673959654P", "A1", 1)
	fmt.Println(s, err)
	// Output: 1.2.156.3005.2.11100000MB0143028R001.91330106673959654P.A1.001.6 <nil>
}

func ExampleParse() {
	id, err := ident.Parse("1.2.156.3005.2.11100000000013338W009.11330105002500287C.2025052201.002.0")
	fmt.Printf("%+v %v\n", id, err)
	_, err = ident.Parse("1.2.156.3005.2.11100000000013338W009.11330105002500287C.2025052201.002.1")
	fmt.Println(err.(*ident.Problem).MessageZH())
	// Output:
	// {TypeCode:11100000000013338W009 Issuer:11330105002500287C Serial:2025052201 Version:2} <nil>
	// 第72位校验位错误：应为 0，实际为 1
}
