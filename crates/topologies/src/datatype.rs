//! Element types and reduction operators, named as nccl-tests names them.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum DataType {
    Float,
    Double,
    Int32,
    Int64,
}

impl DataType {
    pub const ALL: [DataType; 4] = [
        DataType::Float,
        DataType::Double,
        DataType::Int32,
        DataType::Int64,
    ];

    pub fn size(self) -> usize {
        match self {
            DataType::Float | DataType::Int32 => 4,
            DataType::Double | DataType::Int64 => 8,
        }
    }

    pub fn name(self) -> &'static str {
        match self {
            DataType::Float => "float",
            DataType::Double => "double",
            DataType::Int32 => "int32",
            DataType::Int64 => "int64",
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
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s.to_ascii_lowercase().as_str() {
            "float" | "float32" | "f32" => Ok(DataType::Float),
            "double" | "float64" | "f64" => Ok(DataType::Double),
            "int32" | "int" | "i32" => Ok(DataType::Int32),
            "int64" | "i64" => Ok(DataType::Int64),
            _ => Err(UnknownName {
                what: "data type",
                given: s.to_string(),
                accepted: "float, double, int32, int64",
            }),
        }
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ReduceOp {
    Sum,
    Min,
    Max,
}

impl ReduceOp {
    pub const ALL: [ReduceOp; 3] = [ReduceOp::Sum, ReduceOp::Min, ReduceOp::Max];

    pub fn name(self) -> &'static str {
        match self {
            ReduceOp::Sum => "sum",
            ReduceOp::Min => "min",
            ReduceOp::Max => "max",
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
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s.to_ascii_lowercase().as_str() {
            "sum" => Ok(ReduceOp::Sum),
            "min" => Ok(ReduceOp::Min),
            "max" => Ok(ReduceOp::Max),
            _ => Err(UnknownName {
                what: "reduction operator",
                given: s.to_string(),
                accepted: "sum, min, max",
            }),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip() {
        for d in DataType::ALL {
            assert_eq!(d.name().parse::<DataType>(), Ok(d));
        }
        for o in [ReduceOp::Sum, ReduceOp::Min, ReduceOp::Max] {
            assert_eq!(o.name().parse::<ReduceOp>(), Ok(o));
        }
        let err = "half".parse::<DataType>().unwrap_err();
        assert!(err.to_string().contains("float, double, int32, int64"));
    }
}
