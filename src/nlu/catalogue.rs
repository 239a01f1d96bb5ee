//! The product catalogue (models/nlu/catalogue.toml) and finding its products in text by any
//! of their names, ignoring case, spaces and hyphens ("AJ1", "aj 1", "乔丹一代").

use serde::Deserialize;

use crate::error::{Error, Result};
use crate::nlu::text::is_cjk;

pub const CATALOGUE_TOML: &str = include_str!("../../models/nlu/catalogue.toml");

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Product {
    pub sku: String,
    pub name: String,
    pub name_zh: String,
    pub aliases: Vec<String>,
    /// English words that name the product only inside a Chinese sentence.
    #[serde(default)]
    pub aliases_in_chinese: Vec<String>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Catalogue {
    #[serde(rename = "product")]
    pub products: Vec<Product>,
}

/// A product named in the text; `start..end` are character positions.
#[derive(Debug, Clone, PartialEq)]
pub struct ProductMention {
    pub start: usize,
    pub end: usize,
    pub product: usize,
}

/// Lower case without spaces, hyphens and dots: the form aliases are compared in.
fn compact(s: &str) -> String {
    s.chars()
        .filter(|c| !matches!(c, ' ' | '-' | '.' | '_'))
        .flat_map(|c| c.to_lowercase())
        .collect()
}

impl Catalogue {
    pub fn parse(toml_text: &str) -> Result<Self> {
        toml::from_str(toml_text).map_err(|e| Error::Config(format!("product catalogue: {e}")))
    }

    pub fn embedded() -> Result<Self> {
        Self::parse(CATALOGUE_TOML)
    }

    /// Every product mention in normalised text, longest names first, without overlaps.
    pub fn find(&self, text: &str) -> Vec<ProductMention> {
        let chars: Vec<char> = text.chars().collect();
        // The compact text and, for each of its characters, where it was in `text`.
        let mut packed = Vec::new();
        let mut origin = Vec::new();
        for (i, c) in chars.iter().enumerate() {
            if !matches!(c, ' ' | '-' | '.' | '_') {
                packed.extend(c.to_lowercase());
                origin.push(i);
            }
        }
        let chinese = chars.iter().any(|c| is_cjk(*c));
        let mut names: Vec<(Vec<char>, usize)> = Vec::new();
        for (p, prod) in self.products.iter().enumerate() {
            let extra = if chinese { &prod.aliases_in_chinese[..] } else { &[] };
            for a in prod.aliases.iter().chain(extra).chain([&prod.name, &prod.name_zh]) {
                let c: Vec<char> = compact(a).chars().collect();
                if !c.is_empty() {
                    names.push((c, p));
                }
            }
        }
        names.sort_by(|a, b| b.0.len().cmp(&a.0.len()));

        let mut taken = vec![false; packed.len()];
        let mut found = Vec::new();
        for (name, product) in &names {
            let n = name.len();
            let mut k = 0;
            while k + n <= packed.len() {
                if packed[k..k + n] == name[..] && !taken[k..k + n].iter().any(|t| *t) {
                    let (start, end) = (origin[k], origin[k + n - 1] + 1);
                    // An English name must stand as a word: "ns" is not in "insurance".
                    let bounded = |i: Option<&char>| !i.is_some_and(|c| c.is_ascii_alphanumeric());
                    let edge_ok = !name[0].is_ascii_alphanumeric()
                        || (bounded(start.checked_sub(1).and_then(|s| chars.get(s))) && bounded(chars.get(end)));
                    let tail_ok = !name[n - 1].is_ascii_alphanumeric() || bounded(chars.get(end));
                    if edge_ok && tail_ok {
                        taken[k..k + n].iter_mut().for_each(|t| *t = true);
                        found.push(ProductMention { start, end, product: *product });
                        k += n;
                        continue;
                    }
                }
                k += 1;
            }
        }
        found.sort_by_key(|m| m.start);
        found
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn names(text: &str) -> Vec<String> {
        let c = Catalogue::embedded().unwrap();
        c.find(text).iter().map(|m| c.products[m.product].name.clone()).collect()
    }

    #[test]
    fn nicknames_and_spellings_find_the_product() {
        assert_eq!(names("aj1有货么"), ["Air Jordan 1"]);
        assert_eq!(names("do you have the aj 1 in size 9"), ["Air Jordan 1"]);
        assert_eq!(names("is the iphone 15 in stock"), ["iPhone 15"]);
        assert_eq!(names("苹果15还有吗"), ["iPhone 15"]);
        assert_eq!(names("got any switch oled left"), ["Nintendo Switch OLED"]);
        assert_eq!(names("air max 90 and airpods"), ["Nike Air Max 90", "AirPods Pro"]);
    }

    #[test]
    fn ordinary_english_words_are_not_products() {
        assert!(names("can i switch the size to a medium").is_empty());
        assert!(names("do you sell insurance").is_empty());
        assert_eq!(names("switch还有现货吗"), ["Nintendo Switch OLED"]);
    }

    #[test]
    fn the_longest_name_wins() {
        assert_eq!(names("nintendo switch oled please"), ["Nintendo Switch OLED"]);
        let c = Catalogue::embedded().unwrap();
        let m = c.find("the nintendo switch oled");
        assert_eq!((m[0].start, m[0].end), (4, 24));
    }
}
