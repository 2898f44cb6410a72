//! One mechanism for enums stored and sent as text: serde, utoipa, `FromStr`, `Display` and the
//! database all see the same values, written once per variant.
//!
//! ```text
//! text_enum!(
//!     /// Docs of the type (and any extra attribute, e.g. `#[derive(PartialOrd, Ord)]`).
//!     Sector { Public = "public", Private = "private", NonProfit = "non_profit" }
//! );
//! ```
//!
//! Each variant may carry its own attributes too (docs, `#[default]` with an outer
//! `#[derive(Default)]`). The macro adds `ALL` (every value, in declaration order), `as_str`,
//! `parse` (`None` for text that is no value), `FromStr` (for text read from the database: an
//! unknown value there is an internal error), `Display`, and diesel's `ToSql`/`FromSql` for `Text`
//! columns, so rows read and write the enum itself.
//!
//! The text is taken as a raw token (`tt`), not a `literal` fragment: a `literal` fragment reaches
//! derive macros wrapped in an invisible group that utoipa's attribute parser skips, which left the
//! spec listing the Rust variant names instead of the wire values. The test below and the spec's
//! example tests (`tests/api/spec_examples.rs`) fail if that ever comes back.

macro_rules! text_enum {
    ($(#[$m:meta])* $name:ident { $($(#[$vm:meta])* $variant:ident = $text:tt),+ $(,)? }) => {
        $(#[$m])*
        #[derive(
            Debug, Clone, Copy, PartialEq, Eq, Hash,
            ::serde::Serialize, ::serde::Deserialize, ::utoipa::ToSchema,
            ::diesel::expression::AsExpression, ::diesel::deserialize::FromSqlRow,
        )]
        #[diesel(sql_type = ::diesel::sql_types::Text)]
        pub enum $name {
            $($(#[$vm])* #[serde(rename = $text)] $variant),+
        }
        #[allow(dead_code)]
        impl $name {
            /// Every value, in declaration order.
            pub const ALL: &'static [$name] = &[$($name::$variant),+];

            /// The value as text, on the wire and in the database.
            pub const fn as_str(self) -> &'static str {
                match self { $($name::$variant => $text),+ }
            }

            /// The value this text names, if any.
            pub fn parse(s: &str) -> Option<Self> {
                match s {
                    $($text => Some($name::$variant),)+
                    _ => None,
                }
            }
        }
        impl ::std::str::FromStr for $name {
            type Err = $crate::error::ApiError;
            fn from_str(s: &str) -> Result<Self, $crate::error::ApiError> {
                Self::parse(s).ok_or_else(|| {
                    $crate::error::ApiError::internal(format!(
                        concat!("unknown ", stringify!($name), " in database: {}"),
                        s
                    ))
                })
            }
        }
        impl<DB> ::diesel::serialize::ToSql<::diesel::sql_types::Text, DB> for $name
        where
            DB: ::diesel::backend::Backend,
            str: ::diesel::serialize::ToSql<::diesel::sql_types::Text, DB>,
        {
            fn to_sql<'b>(
                &'b self,
                out: &mut ::diesel::serialize::Output<'b, '_, DB>,
            ) -> ::diesel::serialize::Result {
                <str as ::diesel::serialize::ToSql<::diesel::sql_types::Text, DB>>::to_sql(
                    self.as_str(),
                    out,
                )
            }
        }
        impl<DB> ::diesel::deserialize::FromSql<::diesel::sql_types::Text, DB> for $name
        where
            DB: ::diesel::backend::Backend,
            String: ::diesel::deserialize::FromSql<::diesel::sql_types::Text, DB>,
        {
            fn from_sql(bytes: DB::RawValue<'_>) -> ::diesel::deserialize::Result<Self> {
                let text =
                    <String as ::diesel::deserialize::FromSql<::diesel::sql_types::Text, DB>>::from_sql(
                        bytes,
                    )?;
                Self::parse(&text).ok_or_else(|| {
                    format!(concat!("unknown ", stringify!($name), " in database: {}"), text).into()
                })
            }
        }
        impl ::std::fmt::Display for $name {
            fn fmt(&self, f: &mut ::std::fmt::Formatter<'_>) -> ::std::fmt::Result {
                f.write_str(self.as_str())
            }
        }
    };
}
pub(crate) use text_enum;

#[cfg(test)]
mod tests {
    use utoipa::PartialSchema;

    text_enum!(
        /// A test enum whose variant names differ from their text.
        #[derive(PartialOrd, Ord, Default)]
        Sample {
            /// The first.
            #[default]
            FirstOne = "first_one",
            Second = "second:2",
        }
    );

    #[test]
    fn serde_utoipa_and_text_agree() {
        assert_eq!(Sample::ALL, &[Sample::FirstOne, Sample::Second]);
        for s in Sample::ALL {
            let json = serde_json::to_value(s).unwrap_or_default();
            assert_eq!(json, s.as_str());
            assert_eq!(serde_json::from_value::<Sample>(json).ok(), Some(*s));
            assert_eq!(s.as_str().parse::<Sample>().ok(), Some(*s));
            assert_eq!(Sample::parse(&s.to_string()), Some(*s));
        }
        assert_eq!(Sample::parse("FirstOne"), None);
        assert!("Second".parse::<Sample>().is_err());
        assert_eq!(Sample::default(), Sample::FirstOne);
        assert!(Sample::FirstOne < Sample::Second);

        let schema = serde_json::to_value(Sample::schema()).unwrap_or_default();
        assert_eq!(
            schema["enum"],
            serde_json::json!(["first_one", "second:2"]),
            "the spec lists the wire values: {schema}"
        );
    }
}
