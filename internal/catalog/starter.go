package catalog

import (
	"bytes"
	"context"
	_ "embed"
	"fmt"
	"strings"
)

// The licence types the starter catalogue refers to besides the business licence. A type code is
// the defining authority's credit code and 3 digits (STANDARDS §2). They are the types the demo
// registers in the licence library (internal/demo, library.go); a test there holds them equal.
const (
	// TypeFoodBusiness is 食品经营许可证, defined by 国家市场监督管理总局 (11100000MB0143028R).
	TypeFoodBusiness = "11100000MB0143028R101"
	// TypeConstructionQualification is 建筑业企业资质证书, defined by 住房和城乡建设部; the credit
	// code is the one of the library's brief with its check characters corrected
	// (1110000000001930X6).
	TypeConstructionQualification = "1110000000001930X6001"
	// TypePollutantDischarge is 排污许可证, defined by 生态环境部; the credit code is a placeholder
	// with valid check characters (11100000MB1729602Q), as in the demo's library.
	TypePollutantDischarge = "11100000MB1729602Q001"
)

// starterJSON is the starter catalogue: 19 items over the eight scenarios, offered in Hangzhou
// (330100), Zhejiang (330000) or the whole country. Department codes are synthetic except the
// State Administration for Market Regulation's. Licence types are placeholders ($BUSINESS_LICENCE
// …) that Starter replaces.
//
//go:embed starter.json
var starterJSON []byte

// Starter returns the starter catalogue, with businessLicenceType (license.Service.TypeCode())
// as the business licence's type code.
func Starter(businessLicenceType string) ([]Item, error) {
	r := strings.NewReplacer("$BUSINESS_LICENCE", businessLicenceType, "$FOOD_BUSINESS", TypeFoodBusiness,
		"$CONSTRUCTION_QUALIFICATION", TypeConstructionQualification, "$POLLUTANT_DISCHARGE", TypePollutantDischarge)
	items, err := Parse(bytes.NewReader([]byte(r.Replace(string(starterJSON)))), JSON)
	if err != nil {
		return nil, fmt.Errorf("catalog: starter catalogue: %w", err)
	}
	return items, nil
}

// LoadStarter adds the items of the starter catalogue whose codes are not in the catalogue yet;
// items that exist (perhaps edited by an operator) are left alone, so loading again changes
// nothing. It returns how many items it added.
func (s *Service) LoadStarter(ctx context.Context, actor string) (int, error) {
	bl := s.c.BusinessLicenceType
	if bl == "" {
		return 0, fmt.Errorf("catalog: starter catalogue: Config.BusinessLicenceType is not set")
	}
	items, err := Starter(bl)
	if err != nil {
		return 0, err
	}
	have, err := s.c.Store.CatalogItems(ctx, Filter{Limit: 1 << 30})
	if err != nil {
		return 0, fmt.Errorf("catalog: starter catalogue: %w", err)
	}
	exists := make(map[string]bool, len(have))
	for _, it := range have {
		exists[it.Code] = true
	}
	var add []Item
	for _, it := range items {
		if !exists[it.Code] {
			add = append(add, it)
		}
	}
	if len(add) == 0 {
		return 0, nil
	}
	res, err := s.save(ctx, actor, add, "starter", true)
	if err != nil {
		return 0, err
	}
	return res.Created, nil
}
