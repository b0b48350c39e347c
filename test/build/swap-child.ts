// Child process of swap.test.ts: replaces argv[2] by a small tree (CELLGEN_TEST_KILL_AT_STEP may kill it midway).
import { writeTreeAtomically } from '../../src/build/files.js';
import { newTree } from './swap-trees.js';

writeTreeAtomically(newTree(), process.argv[2]!, (p) => p.startsWith('kept/'));
