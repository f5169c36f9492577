package qcc

import "testing"

func TestNormalizeCompanyNameDropsSpaceBetweenChineseCharacters(t *testing.T) {
	for in, want := range map[string]string{
		"企查查科技  有限公司":         "企查查科技有限公司",
		"企查查 科技 有限 公司":        "企查查科技有限公司",
		" 华信创 (北京) 检测技术有限公司 ": "华信创（北京）检测技术有限公司",
		"企查查\u3000科技有限公司":     "企查查科技有限公司",
		"Apple  Inc 中国":       "Apple Inc 中国",
		"企查查 Tech 有限公司":       "企查查 Tech 有限公司",
		"企查查科技有限公司":           "企查查科技有限公司",
	} {
		if got := NormalizeCompanyName(in); got != want {
			t.Errorf("NormalizeCompanyName(%q) = %q, want %q", in, got, want)
		}
		if !isNormalized(want) {
			t.Errorf("%q is not seen as normalised", want)
		}
	}
	if isNormalized("企查查 科技") {
		t.Error("a space between Chinese characters is seen as normalised")
	}
}
