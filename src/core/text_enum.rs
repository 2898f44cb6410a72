//! One mechanism for enums stored and sent as text: serde, utoipa, `FromStr`, `Display` and the
//! database all see the same values, written once per variant.
//!
//! The text is taken as a raw token (`tt`), not a `literal` fragment: a `literal` fragment reaches
//! derive macros wrapped in an invisible group that utoipa's attribute parser skips, which left the
//! spec listing the Rust variant names instead of the wire values.

macro_rules! text_enum {
    ($(#[$m:meta])* $name:ident { $($(#[$vm:meta])* $variant:ident = $text:tt),+ $(,)? }) => {
        $(#[$m])*
        #[derive(
            Debug, Clone, Copy, PartialEq, Eq, Hash,
            ::serde::Serialize, ::serde::Deserialize, ::utoipa::ToSchema,
        )]
        pub enum $name {
            $($(#[$vm])* #[serde(rename = $text)] $variant),+
        }
        impl $name {
            pub const ALL: &'static [$name] = &[$($name::$variant),+];
            pub fn as_str(self) -> &'static str {
                match self { $($name::$variant => $text),+ }
            }
        }
        impl ::std::str::FromStr for $name {
            type Err = $crate::error::ApiError;
            fn from_str(s: &str) -> Result<Self, $crate::error::ApiError> {
                match s {
                    $($text => Ok($name::$variant),)+
                    other => Err($crate::error::ApiError::internal(format!(
                        concat!("unknown ", stringify!($name), " in database: {}"),
                        other
                    ))),
                }
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
