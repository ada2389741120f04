//! Element types and reduction operators, named as nccl-tests names them.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

/// An element type. Variants are declared in nccl-tests' order, and serde names them as
/// nccl-tests does (`int8`, `uint8`, ..., `half`, `float`, `double`, `bfloat16`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum DataType {
    Int8,
    Uint8,
    Int32,
    Uint32,
    Int64,
    Uint64,
    /// IEEE 754 binary16.
    Half,
    Float,
    Double,
    /// bfloat16: binary32's exponent with an 8-bit significand.
    Bfloat16,
}

/// Every name [`DataType::from_str`] accepts, as its error message lists them: nccl-tests'
/// names first, then aliases.
const DATA_TYPE_NAMES: &str = "int8, uint8, int32, uint32, int64, uint64, half, float, double, \
     bfloat16 (aliases: char, i8, u8, int, i32, u32, i64, u64, float16, fp16, f16, float32, \
     fp32, f32, float64, fp64, f64, bf16)";

impl DataType {
    /// nccl-tests' order (its `-d all`).
    pub const ALL: [DataType; 10] = [
        DataType::Int8,
        DataType::Uint8,
        DataType::Int32,
        DataType::Uint32,
        DataType::Int64,
        DataType::Uint64,
        DataType::Half,
        DataType::Float,
        DataType::Double,
        DataType::Bfloat16,
    ];

    /// Bytes per element.
    pub fn size(self) -> usize {
        match self {
            DataType::Int8 | DataType::Uint8 => 1,
            DataType::Half | DataType::Bfloat16 => 2,
            DataType::Int32 | DataType::Uint32 | DataType::Float => 4,
            DataType::Int64 | DataType::Uint64 | DataType::Double => 8,
        }
    }

    /// nccl-tests' name, which is also the serde name.
    pub fn name(self) -> &'static str {
        match self {
            DataType::Int8 => "int8",
            DataType::Uint8 => "uint8",
            DataType::Int32 => "int32",
            DataType::Uint32 => "uint32",
            DataType::Int64 => "int64",
            DataType::Uint64 => "uint64",
            DataType::Half => "half",
            DataType::Float => "float",
            DataType::Double => "double",
            DataType::Bfloat16 => "bfloat16",
        }
    }
}

impl fmt::Display for DataType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
#[error("unknown {what} '{given}'; expected one of: {accepted}")]
pub struct UnknownName {
    pub what: &'static str,
    pub given: String,
    pub accepted: &'static str,
}

impl FromStr for DataType {
    type Err = UnknownName;
    /// nccl-tests' names and common aliases, in any case.
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s.to_ascii_lowercase().as_str() {
            "int8" | "char" | "i8" => Ok(DataType::Int8),
            "uint8" | "u8" => Ok(DataType::Uint8),
            "int32" | "int" | "i32" => Ok(DataType::Int32),
            "uint32" | "u32" => Ok(DataType::Uint32),
            "int64" | "i64" => Ok(DataType::Int64),
            "uint64" | "u64" => Ok(DataType::Uint64),
            "half" | "float16" | "fp16" | "f16" => Ok(DataType::Half),
            "float" | "float32" | "fp32" | "f32" => Ok(DataType::Float),
            "double" | "float64" | "fp64" | "f64" => Ok(DataType::Double),
            "bfloat16" | "bf16" => Ok(DataType::Bfloat16),
            _ => Err(UnknownName {
                what: "data type",
                given: s.to_string(),
                accepted: DATA_TYPE_NAMES,
            }),
        }
    }
}

/// A reduction operator. Variants are declared in nccl-tests' order.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ReduceOp {
    Sum,
    Prod,
    Min,
    Max,
    /// The sum divided by the number of ranks. Ranks combine with the sum; the division is
    /// applied once, after the collective (see [`crate::reduce::finish_avg`]).
    Avg,
}

impl ReduceOp {
    /// nccl-tests' order (its `-o all`).
    pub const ALL: [ReduceOp; 5] = [
        ReduceOp::Sum,
        ReduceOp::Prod,
        ReduceOp::Min,
        ReduceOp::Max,
        ReduceOp::Avg,
    ];

    /// nccl-tests' name, which is also the serde name.
    pub fn name(self) -> &'static str {
        match self {
            ReduceOp::Sum => "sum",
            ReduceOp::Prod => "prod",
            ReduceOp::Min => "min",
            ReduceOp::Max => "max",
            ReduceOp::Avg => "avg",
        }
    }
}

impl fmt::Display for ReduceOp {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl FromStr for ReduceOp {
    type Err = UnknownName;
    /// nccl-tests' names, in any case.
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s.to_ascii_lowercase().as_str() {
            "sum" => Ok(ReduceOp::Sum),
            "prod" => Ok(ReduceOp::Prod),
            "min" => Ok(ReduceOp::Min),
            "max" => Ok(ReduceOp::Max),
            "avg" => Ok(ReduceOp::Avg),
            _ => Err(UnknownName {
                what: "reduction operator",
                given: s.to_string(),
                accepted: "sum, prod, min, max, avg",
            }),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip_through_parse_and_serde() {
        for d in DataType::ALL {
            assert_eq!(d.name().parse::<DataType>(), Ok(d));
            assert_eq!(d.name().to_uppercase().parse::<DataType>(), Ok(d));
            let json = serde_json::to_string(&d).expect("serialises");
            assert_eq!(json, format!("\"{}\"", d.name()));
            assert_eq!(serde_json::from_str::<DataType>(&json).ok(), Some(d));
        }
        for o in ReduceOp::ALL {
            assert_eq!(o.name().parse::<ReduceOp>(), Ok(o));
            let json = serde_json::to_string(&o).expect("serialises");
            assert_eq!(json, format!("\"{}\"", o.name()));
            assert_eq!(serde_json::from_str::<ReduceOp>(&json).ok(), Some(o));
        }
    }

    #[test]
    fn all_is_in_nccl_tests_order_and_sizes_are_right() {
        let names: Vec<_> = DataType::ALL.iter().map(|d| d.name()).collect();
        assert_eq!(
            names,
            [
                "int8", "uint8", "int32", "uint32", "int64", "uint64", "half", "float", "double",
                "bfloat16"
            ]
        );
        let sizes: Vec<_> = DataType::ALL.iter().map(|d| d.size()).collect();
        assert_eq!(sizes, [1, 1, 4, 4, 8, 8, 2, 4, 8, 2]);
        let ops: Vec<_> = ReduceOp::ALL.iter().map(|o| o.name()).collect();
        assert_eq!(ops, ["sum", "prod", "min", "max", "avg"]);
    }

    #[test]
    fn aliases_name_the_right_type() {
        for (alias, d) in [
            ("char", DataType::Int8),
            ("u8", DataType::Uint8),
            ("int", DataType::Int32),
            ("float16", DataType::Half),
            ("fp16", DataType::Half),
            ("f32", DataType::Float),
            ("float64", DataType::Double),
            ("bf16", DataType::Bfloat16),
        ] {
            assert_eq!(alias.parse::<DataType>(), Ok(d), "{alias}");
        }
    }

    #[test]
    fn an_unknown_name_lists_every_accepted_one() {
        let err = "fp8".parse::<DataType>().expect_err("fp8 is not supported");
        let message = err.to_string();
        for d in DataType::ALL {
            assert!(message.contains(d.name()), "{message} lacks {d}");
        }
        let err = "mean".parse::<ReduceOp>().expect_err("not an operator");
        assert!(err
            .to_string()
            .ends_with("expected one of: sum, prod, min, max, avg"));
    }
}
