// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

import {Test} from "./Test.sol";
import {SegmintToken} from "../../src/SegmintToken.sol";
import {StakingManager} from "../../src/StakingManager.sol";
import {Hashes} from "@openzeppelin/contracts/utils/cryptography/Hashes.sol";

/// @notice A staking manager with a bonded worker, a verifier, and a four-rendition commitment
/// whose Merkle tree is built here the way the npm package "openzeppelin merkle-tree" hashes leaves and pairs.
abstract contract StakingFixture is Test {
    uint64 internal constant UNBONDING = 7 days;
    uint64 internal constant JAIL = 3 days;
    uint16 internal constant SLASH_BPS = 1_000; // 10 %
    uint16 internal constant REWARD_BPS = 5_000; // half of it to the challenger
    uint256 internal constant MIN_STAKE = 100 ether;

    SegmintToken internal token;
    StakingManager internal staking;
    address internal admin = address(0xAD);
    address internal verifier = address(0xC0FFEE);
    uint256 internal workerKey = 0xB0B;
    address internal worker;

    string internal constant JOB = "stream1.0.42";
    string[4] internal renditions = ["1080p", "720p", "480p", "360p"];
    bytes32[4] internal hashes;
    bytes32[4] internal leaves;
    bytes32 internal root;

    function setUp() public virtual {
        token = new SegmintToken(address(this));
        staking = new StakingManager(token, params(), admin);
        bytes32 role = staking.VERIFIER_ROLE();
        vm.prank(admin);
        staking.grantRole(role, verifier);
        worker = vm.addr(workerKey);
        vm.label(worker, "worker");
        fundAndBond(worker, 1_000 ether);
        buildCommitment(JOB);
    }

    function params() internal pure returns (StakingManager.Params memory) {
        return StakingManager.Params({
            unbondingPeriod: UNBONDING,
            jailPeriod: JAIL,
            slashBps: SLASH_BPS,
            challengerRewardBps: REWARD_BPS,
            minStake: MIN_STAKE
        });
    }

    function fundAndBond(address who, uint256 amount) internal {
        token.mint(who, amount);
        vm.startPrank(who);
        token.approve(address(staking), amount);
        staking.bond(amount);
        vm.stopPrank();
    }

    function leafOf(string memory jobId, string memory rendition, bytes32 sha) internal pure returns (bytes32) {
        return keccak256(bytes.concat(keccak256(abi.encode(jobId, rendition, sha))));
    }

    /// @dev Tree ((l0 l1) (l2 l3)) with sorted-pair hashing, as OpenZeppelin's MerkleProof expects.
    function buildCommitment(string memory jobId) internal {
        for (uint256 i; i < 4; ++i) {
            hashes[i] = sha256(abi.encodePacked(jobId, renditions[i]));
            leaves[i] = leafOf(jobId, renditions[i], hashes[i]);
        }
        root = Hashes.commutativeKeccak256(
            Hashes.commutativeKeccak256(leaves[0], leaves[1]), Hashes.commutativeKeccak256(leaves[2], leaves[3])
        );
    }

    function proofOf(uint256 i) internal view returns (bytes32[] memory proof) {
        proof = new bytes32[](2);
        proof[0] = leaves[i ^ 1];
        uint256 other = i < 2 ? 2 : 0;
        proof[1] = Hashes.commutativeKeccak256(leaves[other], leaves[other + 1]);
    }

    /// @dev Evidence that rendition `i` of JOB is wrong, signed by `key`.
    function evidence(uint256 i, uint256 key) internal view returns (StakingManager.SlashEvidence memory) {
        return StakingManager.SlashEvidence({
            jobId: JOB,
            root: root,
            signature: signDigest(key, staking.commitmentDigest(JOB, root)),
            rendition: renditions[i],
            committedHash: hashes[i],
            proof: proofOf(i),
            correctHash: keccak256("the hash honest workers produced")
        });
    }
}
