//! Everything a run writes: the nccl-tests-style table on stdout, and `results.json` and
//! `results.csv`, rewritten atomically after every size.

pub mod atomic;
pub mod csv;
pub mod nccl_json;
pub mod report;
pub mod report_charts;
pub mod report_html;
pub mod report_tables;
pub mod report_text;
pub mod table;
pub mod verdict;
pub mod writer;
